import Foundation

/// Converts between `Date` and Postgres's ISO text form of `timestamptz` in UTC, with
/// microsecond precision (Postgres's own), without `DateFormatter`.
///
/// Connections set `TimeZone=UTC` and `DateStyle=ISO`, so the server always answers in the
/// form `2026-11-27 17:40:00.123456+00`; the parser also accepts other offsets.
public enum PostgresTimestamp {
    /// `date` as a `timestamptz` holds it: whole microseconds. A value kept in memory as well
    /// as stored (an order's times) is taken through this first, so that the copy in memory
    /// and the one read back format alike.
    public static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
    }

    static func format(_ date: Date) -> String {
        let fields = Fields(date)
        guard (0...9999).contains(fields.year) else {
            // Outside four-digit years the fixed layout does not apply.
            return "\(fields.year)-\(fields.month)-\(fields.day) \(fields.secondOfDay / 3600):\(fields.secondOfDay / 60 % 60):\(fields.secondOfDay % 60).\(fields.microsecond)+00"
        }
        // "YYYY-MM-DD HH:MM:SS.ffffff+00", written digit by digit (this runs for every
        // timestamp of every batched row).
        return fields.text(dateTimeSeparator: UInt8(ascii: " "), fractionDigits: 6, suffix: "+00")
    }

    /// RFC 3339 UTC with milliseconds, `2026-11-27T17:40:00.123Z`: `format`'s text with `T`
    /// for the space, its fraction cut to three digits and `Z` for the offset, written
    /// directly (three of these per order answered).
    static func formatRFC3339Milliseconds(_ date: Date) -> String {
        let fields = Fields(date)
        guard (0...9999).contains(fields.year) else {
            let text = format(date)
            return text.prefix(10) + "T" + text.dropFirst(11).prefix(12) + "Z"
        }
        return fields.text(dateTimeSeparator: UInt8(ascii: "T"), fractionDigits: 3, suffix: "Z")
    }

    /// A date's UTC calendar fields, from its time rounded to whole microseconds.
    private struct Fields {
        var year: Int64, month: Int64, day: Int64
        var secondOfDay: Int64
        var microsecond: Int64

        init(_ date: Date) {
            let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
            var seconds = micros / 1_000_000
            var fraction = micros % 1_000_000
            if fraction < 0 {
                fraction += 1_000_000
                seconds -= 1
            }
            var days = seconds / 86_400
            var secondOfDay = seconds % 86_400
            if secondOfDay < 0 {
                secondOfDay += 86_400
                days -= 1
            }
            (year, month, day) = CivilDate.civil(fromDays: days)
            self.secondOfDay = secondOfDay
            microsecond = fraction
        }

        /// `YYYY-MM-DD<separator>HH:MM:SS.<fraction><suffix>` for a four-digit year; the
        /// fraction truncated to `fractionDigits` (3 or 6).
        func text(dateTimeSeparator: UInt8, fractionDigits: Int, suffix: StaticString) -> String {
            let length = 20 + fractionDigits + suffix.utf8CodeUnitCount
            // Written in place into the string's own storage: no intermediate array.
            return String(unsafeUninitializedCapacity: length) { bytes in
                func put(_ value: Int64, at offset: Int, width: Int) {
                    var remaining = value
                    for position in stride(from: offset + width - 1, through: offset, by: -1) {
                        bytes[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                        remaining /= 10
                    }
                }
                put(year, at: 0, width: 4)
                bytes[4] = UInt8(ascii: "-")
                put(month, at: 5, width: 2)
                bytes[7] = UInt8(ascii: "-")
                put(day, at: 8, width: 2)
                bytes[10] = dateTimeSeparator
                put(secondOfDay / 3600, at: 11, width: 2)
                bytes[13] = UInt8(ascii: ":")
                put(secondOfDay / 60 % 60, at: 14, width: 2)
                bytes[16] = UInt8(ascii: ":")
                put(secondOfDay % 60, at: 17, width: 2)
                bytes[19] = UInt8(ascii: ".")
                var fraction = microsecond
                for _ in fractionDigits..<6 { fraction /= 10 }
                put(fraction, at: 20, width: fractionDigits)
                suffix.withUTF8Buffer { suffixBytes in
                    for (offset, byte) in suffixBytes.enumerated() { bytes[20 + fractionDigits + offset] = byte }
                }
                return length
            }
        }
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]` (also with `T` or `t`, and `Z` or `z`); nil if malformed.
    static func parse(_ text: some StringProtocol) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect(" Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        var micros: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if index < bytes.count {
            let sign: Int64
            switch bytes[index] {
            case UInt8(ascii: "+"): sign = 1
            case UInt8(ascii: "-"): sign = -1
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):  // RFC 3339 §5.6 allows both cases
                sign = 0
            default: return nil
            }
            index += 1
            if sign != 0 {
                guard let offsetHours = number(2) else { return nil }
                var offsetMinutes: Int64 = 0
                if index < bytes.count {
                    guard expect(":"), let minutes = number(2) else { return nil }
                    offsetMinutes = minutes
                }
                guard offsetHours < 24, offsetMinutes < 60 else { return nil }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            }
        }
        // Every field in its range, the day within its month: `2026-02-30` or `11:37:60` are
        // errors, not the day or minute after (hostile review, session 12: `intake restore
        // --target-time` moved them on silently). Postgres never writes a leap second.
        guard index == bytes.count, (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60 else { return nil }
        let days = CivilDate.days(fromCivil: year, month, day)
        let firstOfNextMonth = month == 12 ? CivilDate.days(fromCivil: year + 1, 1, 1) : CivilDate.days(fromCivil: year, month + 1, 1)
        guard days < firstOfNextMonth else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}
