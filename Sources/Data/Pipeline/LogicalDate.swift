import Foundation
import IntakeRuntime

/// A UTC calendar day (a run's logical date), as days since 1970-01-01: no time zone, no
/// calendar object, whatever the machine's settings.
public struct LogicalDate: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let daysSinceEpoch: Int64

    public init(daysSinceEpoch: Int64) { self.daysSinceEpoch = daysSinceEpoch }

    /// Parses exactly `YYYY-MM-DD` (a real date); nil otherwise.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1, (1...12).contains(month),
            (1...31).contains(day)
        else { return nil }
        let days = CivilDate.days(fromCivil: year, month, day)
        // Rejects 2026-02-30 and the like: the round trip must give the same day.
        let back = CivilDate.civil(fromDays: days)
        guard back.year == year, back.month == month, back.day == day else { return nil }
        daysSinceEpoch = days
    }

    /// The UTC day `date` falls in.
    public init(containing date: Date) {
        daysSinceEpoch = Int64((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        let (year, month, day) = CivilDate.civil(fromDays: daysSinceEpoch)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// `D 00:00Z`.
    public var start: Date { Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400) }
    /// `D+1 00:00Z`, the exclusive end of the day.
    public var end: Date { adding(days: 1).start }

    public func adding(days: Int64) -> LogicalDate { LogicalDate(daysSinceEpoch: daysSinceEpoch + days) }

    public static func < (lhs: LogicalDate, rhs: LogicalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    /// Every day from `from` to `to`, both included, in order; empty when `to` < `from`.
    public static func days(from: LogicalDate, through to: LogicalDate) -> [LogicalDate] {
        guard from <= to else { return [] }
        return (from.daysSinceEpoch...to.daysSinceEpoch).map(LogicalDate.init(daysSinceEpoch:))
    }

    /// Days in `[from, to]`, both included (0 when `to` < `from`).
    public static func count(from: LogicalDate, through to: LogicalDate) -> Int64 {
        max(0, to.daysSinceEpoch - from.daysSinceEpoch + 1)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LogicalDate(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected YYYY-MM-DD"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
