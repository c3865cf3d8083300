import ArgumentParser
import Foundation
import IntakeData
import IntakeRuntime
import IntakeServer
import Logging

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The work queue: depth by state (default), discarded jobs, retries, the batch schedule.",
        subcommands: [JobsDepth.self, JobsDiscarded.self, JobsRetry.self, JobsSchedule.self], defaultSubcommand: JobsDepth.self)
}

/// Runs `body` with a client of the configured (or embedded) Postgres, schema migrated.
func withDatabase<T>(_ connection: ConnectionOptions, _ body: (PostgresClient, IntakeConfiguration, Logger) async throws -> T) async throws -> T {
    let configuration = try connection.configuration()
    LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
    let logger = Logger(label: "intake")
    let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger)
    do {
        try await infrastructure.migrate()
        let result = try await body(infrastructure.postgres, configuration, logger)
        await infrastructure.shutdown()
        return result
    } catch {
        await infrastructure.shutdown()
        throw error
    }
}

struct JobsDepth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "depth", abstract: "Jobs per state.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let depth = try await withDatabase(connection) { db, _, _ in try await JobInspector(client: db).depth() }
            print(table(["STATE", "JOBS"], depth.map { [$0.state.rawValue, String($0.count)] }), terminator: "")
        }
    }
}

struct JobsDiscarded: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discarded", abstract: "Jobs that failed for good, newest first.")
    @OptionGroup var connection: ConnectionOptions
    @Option(parsing: .unconditional, help: "How many (1..1000).") var limit: Int = 50

    func run() async throws {
        try await reportingErrors {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1..1000") }
            let jobs = try await withDatabase(connection) { db, _, _ in try await JobInspector(client: db).discarded(limit: limit) }
            let rows = jobs.map { job in
                [
                    String(job.id), job.kind, "\(job.attempt)/\(job.maxAttempts)", job.finalizedAt.map(format) ?? "-",
                    (job.lastError ?? "").replacingOccurrences(of: "\n", with: " ").prefix(100).description,
                ]
            }
            print(table(["ID", "KIND", "ATTEMPTS", "DISCARDED AT", "LAST ERROR"], rows), terminator: "")
        }
    }
}

struct JobsRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Run a discarded job again now (attempts reset).")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The job's id (intake jobs discarded).") var id: Int64

    func run() async throws {
        try await reportingErrors {
            let retried = try await withDatabase(connection) { db, _, _ in
                // A pipeline job of a run that has ended would find it ended and do nothing.
                if let run = try await EtlRuns.run(ofJob: id, in: db), run.status.isFinished {
                    throw ValidationError(
                        "job \(id) belongs to \(run.pipeline) run \(run.id.lowercasedString) of \(run.logicalDate), which has \(run.status.rawValue): "
                            + "retrying it would do nothing; run the day again: intake etl run \(run.pipeline.replacingOccurrences(of: "_", with: "-")) --date \(run.logicalDate)")
                }
                return try await JobInspector(client: db).retry(id)
            }
            guard retried else { throw ValidationError("no discarded job \(id)") }
            print("job \(id) is available again")
        }
    }
}

struct JobsSchedule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Every recurring job: name, schedule, next three runs (UTC), last run's status and duration.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print a Mermaid gantt chart instead of a table.") var mermaid = false

    func run() async throws {
        try await reportingErrors {
            let report = try await withDatabase(connection) { db, configuration, logger in
                let data: DataPlatform?
                do {
                    data = try DataPlatform(db: db, settings: try configuration.dataSettings(), logger: logger)
                } catch let error as DataError where error.code == .duckdb {
                    data = nil
                }
                var jobs = IntakeServices.recurringJobs(db: db, data: data)
                // The embedded cluster's backups, when the serving process runs them.
                if configuration.usesEmbeddedPostgres, PgBackRest.isInstalled { jobs.append(try BackupJobs.periodicJob()) }
                // The schedule the serving processes run is the one they recorded, not this
                // shell's settings (INTAKE_ETL_SCHEDULE here may differ from the server's).
                let recorded = try await db.query(
                    "SELECT name, schedule FROM job_schedules WHERE name = ANY($1)", [.textArray(jobs.map(\.name))])
                for row in recorded {
                    let name: String = try row.decode("name")
                    guard let schedule = PeriodicJob.Schedule(recorded: try row.decode("schedule")),
                        let index = jobs.firstIndex(where: { $0.name == name })
                    else { continue }
                    jobs[index].schedule = schedule
                }
                var last = try await JobInspector(client: db).lastRuns(of: jobs.map(\.name))
                // The pipeline's scheduled job only queues a run: its last run is the run's.
                if let run = try await data?.runs.latest(pipeline: "daily_sales", trigger: .schedule) {
                    last[EtlJobs.scheduleName] = JobInspector.LastRun(
                        state: nil, startedAt: run.startedAt, finishedAt: run.finishedAt, outcome: run.status.rawValue)
                }
                return ScheduleReport(jobs: jobs, now: Date(), lastRuns: last)
            }
            print(mermaid ? report.mermaid() : report.table(), terminator: "")
        }
    }
}
