import Foundation

/// Files shipped in the server's resource bundle (`openapi.yaml`, `dashboard.js`).
enum ServerResource {
    static func bytes(_ name: String, _ fileExtension: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: fileExtension) else {
            throw Problem.notFound("\(name).\(fileExtension) is missing from the server's resources")
        }
        return [UInt8](try Data(contentsOf: url))
    }
}
