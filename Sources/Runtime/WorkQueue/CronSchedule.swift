import Foundation

/// A five-field cron expression (`minute hour day-of-month month day-of-week`), in UTC.
///
/// Fields take `*`, numbers, ranges (`1-5`), lists (`1,15`) and steps (`*/5`, `10-50/20`).
/// Day of week is 0-7 with 0 and 7 both Sunday. As in classic cron, when both day fields are
/// restricted a day matches if either does.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let daysOfMonthRestricted: Bool
    let daysOfWeekRestricted: Bool

    public init(_ expression: String) throws {
        let fields = expression.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 5 else {
            throw CronError("cron expression \"\(expression)\" has \(fields.count) fields; expected 5 (minute hour day month weekday)")
        }
        self.expression = expression
        minutes = try Self.parse(fields[0], 0...59, name: "minute")
        hours = try Self.parse(fields[1], 0...23, name: "hour")
        daysOfMonth = try Self.parse(fields[2], 1...31, name: "day of month")
        months = try Self.parse(fields[3], 1...12, name: "month")
        daysOfWeek = Set(try Self.parse(fields[4], 0...7, name: "day of week").map { $0 % 7 })
        daysOfMonthRestricted = fields[2] != "*"
        daysOfWeekRestricted = fields[4] != "*"
        // `0 2 31 2 *` parses but never fires: refused here, not discovered as a silent job.
        if daysOfMonthRestricted, !daysOfWeekRestricted {
            let longest = [1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31]
            guard months.contains(where: { month in daysOfMonth.contains { $0 <= longest[month, default: 31] } }) else {
                throw CronError("cron expression \"\(expression)\" never matches: no month it names has day \(fields[2])")
            }
        }
    }

    public var description: String { expression }

    /// The first matching minute strictly after `date`; nil if none within eight years
    /// (an expression such as `0 0 31 2 *` never matches).
    public func next(after date: Date) -> Date? {
        let startMinute = Int64((date.timeIntervalSince1970 / 60).rounded(.down)) + 1
        var days = startMinute >= 0 ? startMinute / 1440 : (startMinute - 1439) / 1440
        var minuteOfDay = Int(startMinute - days * 1440)
        let lastDay = days + 366 * 8
        while days <= lastDay {
            let (_, month, day) = CivilDate.civil(fromDays: days)
            let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
            if months.contains(Int(month)) && dayMatches(day: Int(day), weekday: weekday) {
                while minuteOfDay < 1440 {
                    let hour = minuteOfDay / 60
                    if !hours.contains(hour) {
                        minuteOfDay = (hour + 1) * 60
                        continue
                    }
                    if minutes.contains(minuteOfDay % 60) {
                        return Date(timeIntervalSince1970: Double((days * 1440 + Int64(minuteOfDay)) * 60))
                    }
                    minuteOfDay += 1
                }
            }
            days += 1
            minuteOfDay = 0
        }
        return nil
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (daysOfMonthRestricted, daysOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): daysOfMonth.contains(day)
        case (false, true): daysOfWeek.contains(weekday)
        case (false, false): true
        }
    }

    private static func parse(_ field: String, _ range: ClosedRange<Int>, name: String) throws -> Set<Int> {
        var values = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw CronError("\(name) field \"\(field)\": more than one /") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw CronError("\(name) field \"\(field)\": bad step") }
                step = parsed
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else if let dash = pieces[0].firstIndex(of: "-") {
                guard let low = Int(pieces[0][..<dash]), let high = Int(pieces[0][pieces[0].index(after: dash)...]), low <= high
                else { throw CronError("\(name) field \"\(field)\": bad range") }
                bounds = low...high
            } else {
                guard let value = Int(pieces[0]) else { throw CronError("\(name) field \"\(field)\": not a number") }
                bounds = value...(pieces.count == 2 ? range.upperBound : value)
            }
            guard range.contains(bounds.lowerBound), range.contains(bounds.upperBound) else {
                throw CronError("\(name) field \"\(field)\": outside \(range.lowerBound)-\(range.upperBound)")
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }
}

/// A cron expression that cannot be parsed.
public struct CronError: Error, Sendable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
