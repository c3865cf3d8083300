import Foundation

/// A Swift type a column can be decoded into. Conformances check the column's Postgres type,
/// so decoding a `text` column as `Int` is an error rather than a silent conversion.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value from its text form.
    static func decode(postgresText text: String, type: PostgresType) throws -> Self
    /// What a NULL decodes to; non-optional types throw.
    static func decodeNull(column: String) throws -> Self
}

extension PostgresDecodable {
    public static func decodeNull(column: String) throws -> Self {
        throw PostgresError(code: .decoding, message: "column \(column) is NULL; decode it as \(Self.self)?")
    }

    static func mismatch(_ type: PostgresType, _ text: String? = nil) -> PostgresError {
        let shown = text.map { " (value \($0.prefix(60)))" } ?? ""
        return PostgresError(code: .decoding, message: "cannot decode \(type) as \(Self.self)\(shown)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Self {
        try Wrapped.decode(postgresText: text, type: type)
    }

    public static func decodeNull(column: String) throws -> Self { nil }
}

extension String: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> String {
        guard type.isText || type == .uuid || type == .numeric || type == .timestamptz else { throw mismatch(type) }
        return text
    }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Bool {
        guard type == .bool else { throw mismatch(type) }
        switch text {
        case "t": return true
        case "f": return false
        default: throw mismatch(type, text)
        }
    }
}

extension FixedWidthInteger where Self: PostgresDecodable {
    fileprivate static func decodeInteger(_ text: String, type: PostgresType) throws -> Self {
        guard type.isInteger else { throw mismatch(type) }
        guard let value = Self(text) else { throw mismatch(type, text) }
        return value
    }
}

extension Int: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Int {
        try decodeInteger(text, type: type)
    }
}

extension Int16: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Int16 {
        try decodeInteger(text, type: type)
    }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Int32 {
        try decodeInteger(text, type: type)
    }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Int64 {
        try decodeInteger(text, type: type)
    }
}

extension Decimal: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Decimal {
        guard type == .numeric || type.isInteger else { throw mismatch(type) }
        guard text != "NaN", let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw mismatch(type, text)
        }
        return value
    }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> UUID {
        guard type == .uuid else { throw mismatch(type) }
        guard let value = UUID(canonical: text) else { throw mismatch(type, text) }
        return value
    }
}

extension Date: PostgresDecodable {
    public static func decode(postgresText text: String, type: PostgresType) throws -> Date {
        guard type == .timestamptz else { throw mismatch(type) }
        guard let value = PostgresTimestamp.parse(text) else { throw mismatch(type, text) }
        return value
    }
}

/// Raw bytes of a `bytea` column.
extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public static func decode(postgresText text: String, type: PostgresType) throws -> [Element] {
        try Element.decodeArray(postgresText: text, type: type)
    }
}

/// Element types that can be decoded from a Postgres array column (or, for `UInt8`, a `bytea`).
public protocol PostgresArrayElement: Sendable {
    static func decodeArray(postgresText text: String, type: PostgresType) throws -> [Self]
}

extension UInt8: PostgresArrayElement {
    /// `bytea` in hex output format: `\x` followed by two hex digits a byte.
    public static func decodeArray(postgresText text: String, type: PostgresType) throws -> [UInt8] {
        guard type == .bytea else { throw PostgresError(code: .decoding, message: "cannot decode \(type) as bytes") }
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw PostgresError(code: .decoding, message: "bytea is not in hex format")
        }
        func nibble(_ byte: UInt8) throws -> UInt8 {
            switch byte {
            case 48...57: return byte - 48
            case 97...102: return byte - 87
            case 65...70: return byte - 55
            default: throw PostgresError(code: .decoding, message: "invalid hex digit in bytea")
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            bytes.append(try nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        return bytes
    }
}

extension PostgresArrayElement where Self: PostgresDecodable {
    static func decodeElements(_ text: String, arrayType: PostgresType, elementType: PostgresType) throws -> [Self] {
        guard arrayType.isArray else {
            throw PostgresError(code: .decoding, message: "cannot decode \(arrayType) as [\(Self.self)]")
        }
        guard let elements = PostgresArrayParser.parse(text) else {
            throw PostgresError(code: .decoding, message: "malformed array literal")
        }
        return try elements.map { element in
            guard let element else { return try Self.decodeNull(column: "array element") }
            return try Self.decode(postgresText: element, type: elementType)
        }
    }
}

extension String: PostgresArrayElement {
    public static func decodeArray(postgresText text: String, type: PostgresType) throws -> [String] {
        try decodeElements(text, arrayType: type, elementType: .text)
    }
}

extension UUID: PostgresArrayElement {
    public static func decodeArray(postgresText text: String, type: PostgresType) throws -> [UUID] {
        try decodeElements(text, arrayType: type, elementType: .uuid)
    }
}

extension Int: PostgresArrayElement {
    public static func decodeArray(postgresText text: String, type: PostgresType) throws -> [Int] {
        try decodeElements(text, arrayType: type, elementType: .int8)
    }
}

extension Int32: PostgresArrayElement {
    public static func decodeArray(postgresText text: String, type: PostgresType) throws -> [Int32] {
        try decodeElements(text, arrayType: type, elementType: .int4)
    }
}

extension Int64: PostgresArrayElement {
    public static func decodeArray(postgresText text: String, type: PostgresType) throws -> [Int64] {
        try decodeElements(text, arrayType: type, elementType: .int8)
    }
}

/// Splits a one-dimensional Postgres array literal (`{a,"b c",NULL}`) into its elements.
enum PostgresArrayParser {
    static func parse(_ text: String) -> [String?]? {
        var scalars = text.unicodeScalars[...]
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        scalars = scalars.dropFirst().dropLast()
        if scalars.isEmpty { return [] }
        var elements: [String?] = []
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var escaped = false
        for scalar in scalars {
            if escaped {
                current.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if scalar == "," && !quoted {
                elements.append(element(current, wasQuoted))
                current = String.UnicodeScalarView()
                wasQuoted = false
            } else {
                current.append(scalar)
            }
        }
        guard !quoted, !escaped else { return nil }
        elements.append(element(current, wasQuoted))
        return elements
    }

    private static func element(_ scalars: String.UnicodeScalarView, _ wasQuoted: Bool) -> String? {
        let text = String(scalars)
        return !wasQuoted && text == "NULL" ? nil : text
    }
}
