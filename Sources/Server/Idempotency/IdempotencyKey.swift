import Crypto
import Foundation
import HTTPTypes

/// An `Idempotency-Key` header: 1..255 printable ASCII characters.
struct IdempotencyKey: Sendable, Hashable {
    static let header = HTTPField.Name.constant("Idempotency-Key")
    static let replayedHeader = HTTPField.Name.constant("Idempotent-Replayed")

    let value: String

    /// nil when the header is absent; `invalid-idempotency-key` when it is malformed.
    static func from(_ fields: HTTPFields) throws -> IdempotencyKey? {
        guard let raw = fields[header] else { return nil }
        guard (1...255).contains(raw.utf8.count), raw.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw Problem.invalidIdempotencyKey
        }
        return IdempotencyKey(value: raw)
    }

    /// SHA-256 of the body's JSON value, whatever its formatting (keys sorted, whitespace
    /// dropped); of the raw bytes when it is not JSON (the request fails anyway).
    static func hash(ofBody body: [UInt8]) -> [UInt8] {
        let canonical: Data
        if let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        {
            canonical = data
        } else {
            canonical = Data(body)
        }
        return [UInt8](SHA256.hash(data: canonical))
    }
}
