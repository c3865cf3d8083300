import Foundation

/// The batch schedule as operators read it (`intake jobs schedule`): every recurring job with
/// its cron (or interval), its next three runs, and how its last run went. Pure: built from
/// the jobs, a time and the last runs, so the rendering is tested without I/O.
public struct ScheduleReport: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var schedule: String
        public var next: [Date]
        public var last: JobInspector.LastRun?
    }

    public var entries: [Entry]
    public var now: Date

    public init(jobs: [PeriodicJob], now: Date, lastRuns: [String: JobInspector.LastRun]) {
        self.now = now
        entries = jobs.map { job in
            var next: [Date] = []
            var cursor = now
            while next.count < 3, let date = job.schedule.next(after: cursor) {
                next.append(date)
                cursor = date
            }
            return Entry(name: job.name, schedule: Self.describe(job.schedule), next: next, last: lastRuns[job.name])
        }
    }

    static func describe(_ schedule: PeriodicJob.Schedule) -> String {
        switch schedule {
        case .cron(let cron): cron.expression
        case .every(let interval): "every \(Self.describe(interval))"
        }
    }

    static func describe(_ interval: Duration) -> String {
        let milliseconds = interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 != 0 { return "\(milliseconds)ms" }
        let seconds = milliseconds / 1000
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// `2026-11-30 02:00:00Z`.
    static func time(_ date: Date) -> String {
        let text = PostgresTimestamp.format(date)
        return String(text.prefix(19)) + "Z"
    }

    static func lastText(_ last: JobInspector.LastRun?) -> String {
        guard let last else { return "never" }
        let state = last.outcome ?? last.state?.rawValue ?? "?"
        guard let duration = last.duration else { return state }
        return "\(state) in \(String(format: "%.3f", duration))s"
    }

    /// One row per job: name, schedule, next three runs, last run.
    public func table() -> String {
        let header = ["NAME", "SCHEDULE", "NEXT RUNS (UTC)", "LAST RUN"]
        let rows = entries.map { entry in
            [entry.name, entry.schedule, entry.next.map(Self.time).joined(separator: ", "), Self.lastText(entry.last)]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// A Mermaid `gantt` chart of the same: one section per job, its last run (when it has
    /// one: marked `done`, or `crit` when it failed, lasting what it took) and one task per
    /// upcoming run, lasting the last run's duration (at least a second).
    public func mermaid() -> String {
        var out = "gantt\n    title Intake batch schedule (UTC)\n    dateFormat YYYY-MM-DD HH:mm:ss\n    axisFormat %m-%d %H:%M\n"
        for entry in entries {
            out += "    section \(Self.mermaidText(entry.name))\n"
            let seconds = max(1, Int((entry.last?.duration ?? 1).rounded(.up)))
            if let last = entry.last, let started = last.startedAt {
                let failed = last.outcome == "failed" || last.state == .discarded
                out += "    last \(Self.mermaidText(Self.lastText(last))) :\(failed ? "crit" : "done"), \(Self.mermaidTime(started)), \(seconds)s\n"
            }
            for (index, date) in entry.next.enumerated() {
                out += "    run \(index + 1) (\(Self.mermaidText(entry.schedule))) :\(Self.mermaidTime(date)), \(seconds)s\n"
            }
        }
        return out
    }

    static func mermaidTime(_ date: Date) -> String {
        String(PostgresTimestamp.format(date).prefix(19))
    }

    /// Mermaid task names end at `:` and `#` starts a comment in some renderers.
    static func mermaidText(_ text: String) -> String {
        text.replacingOccurrences(of: ":", with: " ").replacingOccurrences(of: "#", with: "")
    }
}
