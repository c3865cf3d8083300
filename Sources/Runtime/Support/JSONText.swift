/// Writing JSON text by hand where a JSONEncoder would cost more than the data (log lines,
/// CloudEvents envelopes).
public enum JSONText {
    /// Appends `text` as a JSON string literal, with the escapes RFC 8259 requires.
    public static func appendString(_ text: String, to out: inout String) {
        out += "\""
        // Most text (ids, times, amounts, types) needs no escape: appended whole.
        if !needsEscape(text) {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Whether any byte of `text` must be escaped; over the string's own storage when it has
    /// one (a scan through the generic UTF-8 view cost several times more per byte).
    private static func needsEscape(_ text: String) -> Bool {
        func escaped(_ byte: UInt8) -> Bool { byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") }
        if let found = text.utf8.withContiguousStorageIfAvailable({ $0.contains(where: escaped) }) { return found }
        return text.utf8.contains(where: escaped)
    }

    /// `text` as a JSON string literal.
    public static func string(_ text: String) -> String {
        var out = ""
        appendString(text, to: &out)
        return out
    }

    /// An RFC 3339 time (`2026-11-27T17:40:00Z`, fractions and offsets allowed); nil if
    /// malformed — and without its offset (`Z` or `±HH:MM`), which RFC 3339 requires: a bare
    /// local time would be read as UTC, hours away from what was meant.
    public static func parseTimestamp(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else { return nil }
        let zulu = bytes.last == UInt8(ascii: "Z") || bytes.last == UInt8(ascii: "z")
        let tail = bytes.suffix(6)
        let offset = (tail.first == UInt8(ascii: "+") || tail.first == UInt8(ascii: "-")) && tail.dropFirst(3).first == UInt8(ascii: ":")
        guard zulu || offset else { return nil }
        return PostgresTimestamp.parse(text)
    }

    /// RFC 3339 UTC with milliseconds: `2026-11-27T17:40:00.123Z`.
    public static func timestamp(_ date: Date) -> String {
        PostgresTimestamp.formatRFC3339Milliseconds(date)
    }
}

import Foundation
