import Foundation

/// A job enqueued on a schedule: a cron expression (UTC, minute resolution) or a fixed
/// interval (for sub-minute work such as a sweep every second).
public struct PeriodicJob: Sendable, Hashable {
    public enum Schedule: Sendable, Hashable {
        case cron(CronSchedule)
        /// Slots at whole multiples of the interval since the Unix epoch.
        case every(Duration)

        /// `0 2 * * *`, or `every 60000 ms`: what `job_schedules` records.
        public var description: String {
            switch self {
            case .cron(let cron): cron.expression
            case .every(let interval): "every \(interval.nanoseconds / 1_000_000) ms"
            }
        }

        /// The schedule `description` wrote (as `job_schedules` records it); nil for any
        /// other text.
        public init?(recorded: String) {
            if recorded.hasPrefix("every "), recorded.hasSuffix(" ms") {
                guard let milliseconds = Int64(recorded.dropFirst("every ".count).dropLast(" ms".count)), milliseconds > 0 else { return nil }
                self = .every(.milliseconds(milliseconds))
            } else {
                guard let cron = try? CronSchedule(recorded) else { return nil }
                self = .cron(cron)
            }
        }

        /// The first slot strictly after `date`.
        public func next(after date: Date) -> Date? {
            switch self {
            case .cron(let cron):
                return cron.next(after: date)
            case .every(let interval):
                let milliseconds = Double(interval.nanoseconds / 1_000_000)
                guard milliseconds > 0 else { return nil }
                let now = date.timeIntervalSince1970 * 1000
                return Date(timeIntervalSince1970: ((now / milliseconds).rounded(.down) + 1) * milliseconds / 1000)
            }
        }
    }

    /// Unique among periodic jobs; names the row in `job_schedules`.
    public var name: String
    public var schedule: Schedule
    /// The job enqueued at each slot (its `uniqueKey` is replaced by one naming the slot).
    public var request: JobRequest

    public init(name: String, schedule: Schedule, request: JobRequest) {
        self.name = name
        self.schedule = schedule
        self.request = request
    }
}
