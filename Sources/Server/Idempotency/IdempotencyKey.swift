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
        let values = fields[values: header]
        guard let raw = values.first else { return nil }
        // Two headers would be joined into one key ("a, b"): which one was meant is unknown.
        guard values.count == 1 else { throw Problem.invalidIdempotencyKey }
        guard (1...255).contains(raw.utf8.count), raw.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw Problem.invalidIdempotencyKey
        }
        return IdempotencyKey(value: raw)
    }

    /// SHA-256 of what makes two requests "the same" (API.md): the path, with ids in any
    /// letter case naming one resource, and the body's JSON value, whatever its formatting
    /// (keys sorted, whitespace dropped). A body that is not JSON is hashed as its bytes
    /// (the request fails anyway); an empty body and whitespace are one empty value.
    static func requestHash(path: String, body: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(path.lowercased().utf8))
        hasher.update(data: [0])
        hasher.update(data: canonical(body))
        return [UInt8](hasher.finalize())
    }

    static func canonical(_ body: [UInt8]) -> [UInt8] {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return [] }
        if let common = CanonicalJSON.canonical(body) { return common }
        // A large body outside the common subset never reaches `JSONSerialization`: it is
        // canonicalized in linear time, or — not JSON `CanonicalJSON` reads (duplicate keys,
        // nesting past 256: a body no route validated, a cancel's) — hashed as its bytes. Each
        // form is marked by a byte no JSON text contains, so no two forms meet.
        // Large means large once whitespace and escapes are gone, so that the same value
        // written compactly or padded takes the same form.
        if body.count > largeBody {
            guard let any = CanonicalJSON.canonical(body, anyKeys: true) else { return [0xFE] + body }
            if any.count > largeBody { return [0xFF] + any }
        }
        return serializationCanonical(body)
    }

    /// 16 KiB: twice an order of 100 items. Below it `JSONSerialization` costs at most tens of
    /// milliseconds; a body of 100 items keeps the hash it always had.
    static let largeBody = 16 * 1024

    /// `canonical` through `JSONSerialization`, for what `CanonicalJSON` leaves to it.
    static func serializationCanonical(_ body: [UInt8]) -> [UInt8] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else { return body }
        return [UInt8](data)
    }
}
