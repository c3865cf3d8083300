import Foundation

extension KeyedDecodingContainer {
    /// An integer field. Foundation's decoder fails on a JSON number that is not a whole
    /// number within `Int`'s range (`1.5`, `1e20`) with an error of its own that reaches the
    /// caller as corrupt data with no path, which would hide the field; here it is a
    /// `DecodingError` naming it (a `422`).
    func decodeInteger(forKey key: Key) throws -> Int {
        do {
            return try decode(Int.self, forKey: key)
        } catch let error as DecodingError {
            guard case .dataCorrupted(let context) = error, context.codingPath.isEmpty else { throw error }
            throw Self.notAnInteger(codingPath + [key])
        } catch {
            throw Self.notAnInteger(codingPath + [key])
        }
    }

    func decodeIntegerIfPresent(forKey key: Key) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeInteger(forKey: key)
    }

    private static func notAnInteger(_ path: [any CodingKey]) -> DecodingError {
        .dataCorrupted(.init(codingPath: path, debugDescription: "must be a whole number from \(Int.min) to \(Int.max)"))
    }
}
