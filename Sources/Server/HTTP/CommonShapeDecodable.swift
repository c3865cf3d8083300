/// A request body with a hand-written reader for the shape almost every request has, tried
/// after `StrictJSON` accepted the bytes and before `JSONDecoder`.
///
/// `init?(commonShape:)` returns nil for anything outside that shape — an unknown member, an
/// escape in a string, a number that is not a plain integer, a value `JSONDecoder` would
/// refuse — and `JSONDecoder` then decodes the body as before, with its own errors: where the
/// reader answers, it must answer exactly what `JSONDecoder` would (tested against it).
protocol CommonShapeDecodable: Decodable {
    init?(commonShape bytes: [UInt8])
}

/// A forward reader over JSON bytes `StrictJSON` has accepted, for `CommonShapeDecodable`
/// readers: each method reads one token of the expected kind or returns nil/false, leaving
/// the reader to give up.
struct JSONCursor {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return position == bytes.count
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Consumes `null` if it is next.
    mutating func takeNull() -> Bool {
        skipWhitespace()
        guard position + 4 <= bytes.count, bytes[position] == UInt8(ascii: "n") else { return false }
        position += 4  // StrictJSON accepted the bytes: an `n` starts `null`.
        return true
    }

    /// A string without escapes, as its raw bytes (valid UTF-8: StrictJSON checked); nil if
    /// the next token is not a string or has an escape.
    mutating func plainString() -> ArraySlice<UInt8>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position += 1
                return bytes[start..<position - 1]
            case UInt8(ascii: "\\"): return nil
            default: position += 1
            }
        }
        return nil
    }

    /// A non-negative integer written as plain digits (no sign, fraction or exponent) of at
    /// most 18 digits, so it fits `Int` without checking.
    mutating func plainNaturalNumber() -> Int? {
        skipWhitespace()
        var value = 0
        var digits = 0
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            digits += 1
            if digits <= 18 { value = value * 10 + Int(bytes[position] - UInt8(ascii: "0")) }
            position += 1
        }
        guard (1...18).contains(digits) else { return nil }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) { return nil }
        return value
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }
}
