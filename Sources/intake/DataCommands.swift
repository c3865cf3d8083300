import ArgumentParser
import Foundation
import IntakeData
import IntakeRuntime
import IntakeServer
import Logging
import ServiceLifecycle

/// What the data commands share: the configured servers (or embedded ones), the schema
/// migrated, and the data platform over them.
struct DataContext {
    let infrastructure: IntakeInfrastructure
    let platform: DataPlatform
    let configuration: IntakeConfiguration
    let logger: Logger

    /// Runs `body` with a context, and shuts the servers' clients down after, whatever happens.
    static func with<T>(_ connection: ConnectionOptions, _ body: (DataContext) async throws -> T) async throws -> T {
        let configuration = try connection.configuration()
        LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
        let logger = Logger(label: "intake")
        let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger)
        do {
            try await infrastructure.migrate()
            let platform = try DataPlatform(db: infrastructure.postgres, settings: try configuration.dataSettings(), logger: logger)
            let result = try await body(DataContext(infrastructure: infrastructure, platform: platform, configuration: configuration, logger: logger))
            await infrastructure.shutdown()
            return result
        } catch {
            await infrastructure.shutdown()
            throw error
        }
    }

    /// Runs `body` while this process works the data side's jobs (and rescues expired
    /// leases), then stops the workers gracefully.
    func withWorkers<T>(_ body: () async throws -> T) async throws -> T {
        let db = infrastructure.postgres
        let queue = WorkQueue(client: db, configuration: WorkQueueConfiguration(lease: configuration.jobLease), logger: logger)
        platform.register(on: queue)
        let rescuer = JobRescuer(client: db, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: queue), .init(service: rescuer)], logger: logger))
        let running = Task { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await running.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            do { try await running.value } catch { logger.warning("workers stopped with an error", metadata: ["error": "\(error)"]) }
            throw error
        }
    }
}

/// `daily-sales` (CLI spelling) or `daily_sales`.
func pipelineName(_ text: String) throws -> String {
    let name = text.replacingOccurrences(of: "-", with: "_")
    guard Pipelines.all.contains(name) else {
        throw ValidationError("unknown pipeline \(text); known: \(Pipelines.all.sorted().map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", "))")
    }
    return name
}

func logicalDate(_ text: String, option: String) throws -> LogicalDate {
    guard let date = LogicalDate(text) else { throw ValidationError("\(option) \(text): expected a date YYYY-MM-DD") }
    return date
}

struct Etl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run and inspect the data pipelines (DATA.md).",
        subcommands: [EtlRunCommand.self, EtlBackfillCommand.self, EtlRunsCommand.self])
}

struct EtlRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a pipeline for one UTC day now, wait, print the run record; exit 0 only if it succeeded.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The pipeline: daily-sales.") var pipeline: String
    @Option(help: "The logical date, YYYY-MM-DD (UTC).") var date: String

    func run() async throws {
        try await reportingErrors {
            DuckDBSignals.killChildrenOnExit()
            let name = try pipelineName(pipeline)
            let day = try EtlRuns.validate(pipeline: name, date: date)
            let run = try await DataContext.with(connection) { context in
                try await context.withWorkers {
                    let queued = try await context.platform.runs.create(pipeline: name, date: day, trigger: .manual)
                    return try await context.platform.runs.waitUntilFinished(queued.id)
                }
            }
            print(run.json())
            if run.status != .succeeded { throw ExitCode.failure }
        }
    }
}

struct EtlBackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill", abstract: "Run a pipeline for every day from --from to --to, one run per day, in order.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The pipeline: daily-sales.") var pipeline: String
    @Option(help: "First day, YYYY-MM-DD.") var from: String
    @Option(help: "Last day, YYYY-MM-DD (included).") var to: String

    static let maximumDays: Int64 = 3653

    func run() async throws {
        try await reportingErrors {
            DuckDBSignals.killChildrenOnExit()
            let name = try pipelineName(pipeline)
            let first = try logicalDate(from, option: "--from")
            let last = try EtlRuns.validate(pipeline: name, date: to)
            guard first <= last else { throw ValidationError("--from \(from) is after --to \(to)") }
            // One run per day, one after another: a range of centuries (a mistyped year) would
            // queue runs for days on end. Ten years at a time is past any real backfill.
            guard LogicalDate.count(from: first, through: last) <= Self.maximumDays else {
                throw ValidationError("--from \(from) --to \(to): at most \(Self.maximumDays) days (ten years) per backfill")
            }
            let failed = try await DataContext.with(connection) { context in
                try await context.withWorkers {
                    var failed = 0
                    for day in LogicalDate.days(from: first, through: last) {
                        let queued = try await context.platform.runs.create(pipeline: name, date: day, trigger: .backfill)
                        let run = try await context.platform.runs.waitUntilFinished(queued.id)
                        report(run.json())
                        if run.status != .succeeded { failed += 1 }
                    }
                    return failed
                }
            }
            if failed > 0 {
                FileHandle.standardError.write(Data("intake: \(failed) run(s) of the backfill failed\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}

struct EtlRunsCommand: AsyncParsableCommand {
    static func row(_ run: EtlRun) -> [String] {
        let started: String = run.startedAt.map(format) ?? "-"
        let duration: String = run.duration.map { String(format: "%.1fs", $0) } ?? "-"
        let orders: String = run.ordersExtracted.map { String($0) } ?? "-"
        let rows: String = run.rowsLoaded.map { String($0) } ?? "-"
        let error: String = run.error.map { String($0.prefix(60)) } ?? ""
        var cells: [String] = [run.id.lowercasedString, run.pipeline, run.logicalDate.description]
        cells += [run.status.rawValue, run.trigger.rawValue, started, duration, orders, rows, run.revenue ?? "-", error]
        return cells
    }

    static let configuration = CommandConfiguration(commandName: "runs", abstract: "Recent pipeline runs, newest first, as a table.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this pipeline.") var pipeline: String?
    @Option(parsing: .unconditional, help: "How many runs (1..200).") var limit: Int = 20

    func run() async throws {
        try await reportingErrors {
            let name = try pipeline.map(pipelineName)
            guard (1...200).contains(limit) else { throw ValidationError("--limit must be 1..200") }
            let runs = try await DataContext.with(connection) { context in
                try await context.platform.runs.page(pipeline: name, limit: limit, after: nil).runs
            }
            let rows = runs.map(Self.row)
            print(table(["ID", "PIPELINE", "DATE", "STATUS", "TRIGGER", "STARTED", "DURATION", "ORDERS", "ROWS", "REVENUE", "ERROR"], rows), terminator: "")
        }
    }
}

/// `2026-11-28 02:00:01Z`.
func format(_ date: Date) -> String {
    let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
    let day = LogicalDate(daysSinceEpoch: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    let secondOfDay = seconds - day.daysSinceEpoch * 86_400
    func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(day) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
}

/// A plain text table, columns padded to their widest cell.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
}

struct WarehouseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warehouse", abstract: "Query the DuckDB warehouse.", subcommands: [WarehouseSQL.self])
}

struct WarehouseSQL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql", abstract: "Run a read-only query against the warehouse; a statement that writes is refused.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The SQL, e.g. \"SELECT * FROM daily_sales LIMIT 10\".") var sql: String
    @Option(help: "box, csv or json.") var format: String = "box"
    @Option(parsing: .unconditional, help: "Stop the query after this many seconds (1 to 86400).") var timeout: Int = 600

    func run() async throws {
        try await reportingErrors {
            guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be 1...86400 seconds") }
            DuckDBSignals.killChildrenOnExit()
            let mode: DuckDB.OutputMode
            switch format {
            case "box": mode = .box
            case "csv": mode = .csv
            case "json": mode = .json
            default: throw ValidationError("--format must be box, csv or json")
            }
            guard !sql.allSatisfy(\.isWhitespace) else { throw ValidationError("no SQL given: intake warehouse sql \"SELECT ...\"") }
            // Reads need neither Postgres nor Redis: only the warehouse file.
            let configuration = try connection.configuration()
            LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
            let settings = try configuration.dataSettings()
            let duckdb = try DuckDB.locate(explicit: settings.duckdbPath)
            let warehouse = ReadOnlyWarehouse(path: settings.warehousePath, duckdb: duckdb)
            // Streamed: DuckDB writes the rows to standard output itself (a 500 MB result held
            // 1 GB in intake when it was read back first: hostile review, session 12).
            fflush(nil)
            _ = try await warehouse.query(sql, format: mode, timeLimit: .seconds(timeout), streamingTo: FileHandle.standardOutput)
        }
    }
}
