import Foundation

extension KeyedDecodingContainer {
    /// An integer field: a JSON number whose exact decimal value is a whole number within
    /// `Int`'s range (`3`, `3.0`, `3e0`); anything else is a `DecodingError` naming the field
    /// (a `422`). The value is first read as an exact `Decimal`, since Foundation's `Int`
    /// decoding goes through `Double` and rounds `0.99999999999999999999` to 1, and fails on
    /// `1.5` or `1e20` with an error of its own that names no field.
    func decodeInteger(forKey key: Key) throws -> Int {
        let exact: Decimal
        do {
            exact = try decode(Decimal.self, forKey: key)
        } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let context) where context.codingPath.isEmpty:
                throw Self.notAnInteger(codingPath + [key])
            case .typeMismatch(_, let context):
                // A string, a boolean, an object: reported as the integer the field is.
                throw DecodingError.typeMismatch(Int.self, context)
            default:
                throw error
            }
        } catch {
            throw Self.notAnInteger(codingPath + [key])
        }
        var rounded = Decimal()
        var value = exact
        NSDecimalRound(&rounded, &value, 0, .plain)
        guard rounded == exact else { throw Self.notAnInteger(codingPath + [key]) }
        guard exact >= Decimal(Int.min), exact <= Decimal(Int.max) else {
            // A whole number, only too large: said so, not "must be a whole number" (hostile
            // review, session 15).
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: "is out of range"))
        }
        do {
            return try decode(Int.self, forKey: key)
        } catch {
            throw Self.notAnInteger(codingPath + [key])
        }
    }

    func decodeIntegerIfPresent(forKey key: Key) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeInteger(forKey: key)
    }

    private static func notAnInteger(_ path: [any CodingKey]) -> DecodingError {
        .dataCorrupted(.init(codingPath: path, debugDescription: "must be a whole number"))
    }
}
