/// Files the server serves as they are (`openapi.yaml`, `Dashboard/dashboard.js`), compiled
/// into the module by the EmbedResources build plugin.
enum ServerResource {
    /// `path` relative to `Sources/Server`.
    static func bytes(_ path: String) throws -> [UInt8] {
        guard let text = EmbeddedResources.files[path] else {
            throw Problem.notFound("\(path) is missing from the server's resources")
        }
        return Array(text.utf8)
    }
}
