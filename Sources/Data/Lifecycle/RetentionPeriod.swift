import Foundation

/// A retention such as `12mo` or `3y` (also `90d`, `8w`): calendar arithmetic in UTC. As every
/// duration of the configuration (API.md), also seconds (`86400`) or seconds, minutes and hours
/// with their unit (`90s`, `15m`, `1h`).
public struct RetentionPeriod: Sendable, Hashable, CustomStringConvertible {
    public enum Unit: String, Sendable {
        case seconds = "s", minutes = "m", hours = "h", days = "d", weeks = "w", months = "mo", years = "y"

        /// A century at most: older orders than that predate the system, and dates before
        /// year 1 are not representable.
        public var maximum: Int {
            switch self {
            case .seconds: 3_155_760_000
            case .minutes: 52_596_000
            case .hours: 876_600
            case .days: 36_525
            case .weeks: 5_218
            case .months: 1_200
            case .years: 100
            }
        }
    }

    public var count: Int
    public var unit: Unit

    public init(count: Int, unit: Unit) {
        self.count = count
        self.unit = unit
    }

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let seconds = Int(trimmed) {
            guard seconds >= 0, seconds <= Unit.seconds.maximum else { return nil }
            self.count = seconds
            self.unit = .seconds
            return
        }
        // `mo` before `m`.
        for unit in [Unit.months, .years, .weeks, .days, .hours, .minutes, .seconds] where trimmed.hasSuffix(unit.rawValue) {
            guard let count = Int(trimmed.dropLast(unit.rawValue.count)), count >= 0, count <= unit.maximum else { return nil }
            self.count = count
            self.unit = unit
            return
        }
        return nil
    }

    public var description: String { "\(count)\(unit.rawValue)" }

    /// `date` minus this period.
    public func before(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        var components = DateComponents()
        switch unit {
        case .seconds: components.second = -count
        case .minutes: components.minute = -count
        case .hours: components.hour = -count
        case .days: components.day = -count
        case .weeks: components.day = -7 * count
        case .months: components.month = -count
        case .years: components.year = -count
        }
        return calendar.date(byAdding: components, to: date) ?? date
    }
}
