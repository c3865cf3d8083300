import Foundation
import Testing

@testable import IntakeRuntime

@Suite("The batch schedule as text and Mermaid")
struct ScheduleReportTests {
    static let now = Date(timeIntervalSince1970: 1_795_910_400 + 3600 + 30)  // 2026-11-29 01:00:30Z

    static func jobs() throws -> [PeriodicJob] {
        [
            PeriodicJob(name: "etl.daily_sales", schedule: .cron(try CronSchedule("0 2 * * *")), request: JobRequest(kind: "etl")),
            PeriodicJob(name: "sweep", schedule: .every(.seconds(1)), request: JobRequest(kind: "sweep")),
            PeriodicJob(name: "prune", schedule: .every(.seconds(3600)), request: JobRequest(kind: "prune")),
        ]
    }

    @Test func theTableShowsTheNextThreeRunsAndTheLastOne() throws {
        let last = JobInspector.LastRun(
            state: .completed, startedAt: Date(timeIntervalSince1970: 1_795_831_200), finishedAt: Date(timeIntervalSince1970: 1_795_831_204.25))
        let report = ScheduleReport(jobs: try Self.jobs(), now: Self.now, lastRuns: ["etl.daily_sales": last])
        let lines = report.table().split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("NAME"))
        #expect(lines[1].hasPrefix("etl.daily_sales"))
        #expect(lines[1].contains("0 2 * * *"))
        #expect(lines[1].contains("2026-11-29 02:00:00Z, 2026-11-30 02:00:00Z, 2026-12-01 02:00:00Z"))
        #expect(lines[1].hasSuffix("completed in 4.250s"))
        #expect(lines[2].contains("every 1s") && lines[2].contains("2026-11-29 01:00:31Z, 2026-11-29 01:00:32Z, 2026-11-29 01:00:33Z"))
        #expect(lines[2].hasSuffix("never"))
        #expect(lines[3].contains("every 1h") && lines[3].contains("2026-11-29 02:00:00Z"))
    }

    @Test func mermaidIsAGanttWithASectionPerJob() throws {
        let discarded = JobInspector.LastRun(
            state: .discarded, startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 90))
        let chart = ScheduleReport(jobs: try Self.jobs(), now: Self.now, lastRuns: ["prune": discarded]).mermaid()
        let lines = chart.split(separator: "\n").map(String.init)
        #expect(lines.first == "gantt")
        #expect(lines.contains("    dateFormat YYYY-MM-DD HH:mm:ss"))
        #expect(lines.filter { $0.hasPrefix("    section ") } == ["    section etl.daily_sales", "    section sweep", "    section prune"])
        #expect(lines.contains("    run 1 (0 2 * * *) :2026-11-29 02:00:00, 1s"))
        #expect(lines.contains("    last discarded in 90.000s :crit, 1970-01-01 00 00 00, 90s") || lines.contains("    last discarded in 90.000s :crit, 1970-01-01 00:00:00, 90s"))
        #expect(lines.contains("    run 1 (every 1h) :2026-11-29 02:00:00, 90s"))
        #expect(lines.filter { $0.contains(" :") }.count == 10)
    }

    /// A job that only starts the real work (the pipeline's schedule queues a run) shows what
    /// the work came to, not that the job completed.
    @Test func aRunsOutcomeIsShownInsteadOfItsJobsState() throws {
        let failed = JobInspector.LastRun(
            state: nil, startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 2), outcome: "failed")
        let report = ScheduleReport(jobs: try Self.jobs(), now: Self.now, lastRuns: ["etl.daily_sales": failed])
        #expect(report.table().split(separator: "\n")[1].hasSuffix("failed in 2.000s"))
        #expect(report.mermaid().contains("    last failed in 2.000s :crit, 1970-01-01 00:00:00, 2s"))
    }
}
