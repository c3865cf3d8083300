import Foundation

extension PostgresValue {
    /// The parameter in Postgres's text format — except `bytea` (its raw bytes) and the arrays
    /// of `binaryArrayElement`, sent in binary format (`isBinary`). Nil for NULL.
    func encoded() throws(NULInText) -> (bytes: [UInt8], isBinary: Bool)? {
        switch self {
        case .null: return nil
        case .bytea(let bytes): return (bytes, true)
        default:
            if binaryArrayElement != nil { return (try binaryArray(), true) }
            return (Array(textEncoding().utf8), false)
        }
    }

    func textEncoding() -> String {
        switch self {
        case .null, .bytea: preconditionFailure("encoded() handles NULL and bytea")
        case .uuid(let value): return value.lowercasedString
        case .text(let value), .jsonb(let value): return value
        case .bool(let value): return value ? "t" : "f"
        case .int16(let value): return String(value)
        case .int32(let value): return String(value)
        case .int64(let value): return String(value)
        case .numeric(let value): return value.postgresText
        case .timestamptz(let value): return PostgresTimestamp.format(value)
        case .uuidArray(let values): return Self.arrayLiteral(values.map(\.lowercasedString), quoted: false)
        case .int32Array(let values): return Self.arrayLiteral(values.map { String($0) }, quoted: false)
        case .int64Array(let values): return Self.arrayLiteral(values.map { String($0) }, quoted: false)
        case .textArray(let values): return Self.arrayLiteral(values, quoted: true)
        case .numericArray(let values): return Self.arrayLiteral(values.map(\.postgresText), quoted: false)
        case .boolArray(let values): return Self.arrayLiteral(values.map { $0 ? "t" : "f" }, quoted: false)
        case .timestamptzArray(let values):
            return Self.arrayLiteral(values.map(PostgresTimestamp.format), quoted: true)
        case .float8Array(let values):
            return Self.arrayLiteral(values.map(Self.float8Text), quoted: false)
        case .array(let elements):
            return Self.arrayLiteral(elements)
        }
    }

    /// `{...}` of scalars: NULL for `.null`, every other element quoted (so text of any shape
    /// survives); nested arrays are not supported and become NULL. Built over UTF-8 bytes:
    /// group commit encodes every column of a batch through here.
    static func arrayLiteral(_ elements: [PostgresValue]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(elements.count * 40)
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            let text: String?
            switch element {
            case .null, .array, .uuidArray, .int32Array, .int64Array, .textArray, .numericArray, .boolArray,
                .timestamptzArray, .float8Array:
                text = nil
            case .bytea(let bytes):
                text = "\\x" + Hex.encode(bytes)
            default:
                text = element.textEncoding()
            }
            guard var text else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            appendQuoted(&text, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendQuoted(_ text: inout String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        text.withUTF8 { bytes in
            for byte in bytes {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func float8Text(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(value)"
    }

    /// `{a,b,c}`; with `quoted`, each element is double-quoted with `\` and `"` escaped, so any
    /// text (commas, braces, the word NULL, empty strings) survives.
    static func arrayLiteral(_ elements: [String], quoted: Bool) -> String {
        var out = "{"
        out.reserveCapacity(2 + elements.count * (quoted ? 16 : 37))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(",") }
            if quoted {
                out.append("\"")
                for character in element.unicodeScalars {
                    if character == "\"" || character == "\\" { out.append("\\") }
                    out.unicodeScalars.append(character)
                }
                out.append("\"")
            } else {
                out.append(element)
            }
        }
        out.append("}")
        return out
    }
}

extension Decimal {
    /// Plain decimal notation ("12.50", "-0.01"), locale-independent.
    var postgresText: String {
        var value = self
        return NSDecimalString(&value, Decimal.posix)
    }

    /// Creating a Locale costs more than formatting the number.
    private static let posix = Locale(identifier: "en_US_POSIX")
}

extension UUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The canonical lowercase 36-character form, built without Foundation's formatter (which
    /// showed up as half the cost of encoding bulk `uuid[]` parameters).
    public var lowercasedString: String {
        let bytes = uuid
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            withUnsafeBytes(of: bytes) { raw in
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = Self.hexDigits[Int(raw[index] >> 4)]
                    buffer[position + 1] = Self.hexDigits[Int(raw[index] & 0x0F)]
                    position += 2
                }
            }
            return 36
        }
    }
}
