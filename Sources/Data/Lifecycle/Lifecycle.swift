import Foundation
import IntakeRuntime
import Logging

/// The storage tiers of DATA.md: finished orders (DELIVERED, CANCELED) older than the hot
/// retention move, with their items, from the hot tables to the archive tables in small
/// batches (each its own short transaction, rows taken with SKIP LOCKED, so intake never
/// waits on it); every archive month touched is written to the lake as
/// `lake/archive/orders/month=YYYY-MM/part-0.parquet` (and `archive/order_items/...`), the
/// month's whole archive, by DuckDB; archive months older than `coldAfter` leave Postgres
/// once their Parquet holds every row. Orders still open (PENDING, PAID, SHIPPED) stay hot
/// whatever their age: they can still change.
public struct Lifecycle: Sendable {
    public static let jobKind = "lifecycle.move"
    public static let batchSize = 1_000

    /// What one run moved.
    public struct Report: Sendable, Hashable {
        public var archivedOrders = 0
        public var archivedItems = 0
        /// Months whose Parquet was (re)written.
        public var monthsWritten: [String] = []
        /// Orders removed from Postgres with their cold months (kept in Parquet).
        public var coldOrders = 0
        public var coldMonths: [String] = []

        public var text: String {
            var lines = ["archived \(archivedOrders) orders (\(archivedItems) items) from the hot tables"]
            lines.append(monthsWritten.isEmpty ? "lake: no archive month changed" : "lake: wrote archive months \(monthsWritten.joined(separator: ", "))")
            lines.append(
                coldMonths.isEmpty
                    ? "cold: no archive month left Postgres"
                    : "cold: \(coldOrders) orders of \(coldMonths.joined(separator: ", ")) left Postgres (kept in Parquet)")
            return lines.joined(separator: "\n")
        }
    }

    let db: PostgresClient
    let duckdb: DuckDB
    let settings: DataSettings
    let logger: Logger

    init(db: PostgresClient, duckdb: DuckDB, settings: DataSettings, logger: Logger) {
        self.db = db
        self.duckdb = duckdb
        self.settings = settings
        self.logger = logger
    }

    public func register(on queue: WorkQueue) {
        queue.register(kind: Self.jobKind, concurrency: 1) { _ in
            let report = try await run()
            logger.info("lifecycle moved", metadata: ["archived": "\(report.archivedOrders)", "cold": "\(report.coldOrders)"])
            return .completed
        }
    }

    /// Every day at 03:00 UTC, after the nightly pipeline.
    public var periodicJob: PeriodicJob {
        get throws {
            PeriodicJob(name: Self.jobKind, schedule: .cron(try CronSchedule("0 3 * * *")), request: JobRequest(kind: Self.jobKind, maxAttempts: 3))
        }
    }

    /// Runs of any process take turns (a session advisory lock): two at once each wrote the
    /// months of the batches it had moved, so a month's Parquet could miss the other's orders
    /// (and no later run rewrote it), and a second cold pass found a month already emptied.
    static let lockKey = "hashtext('intake.lifecycle:' || current_schema())"

    /// Moves what is due at `now`, after any run of another process has ended.
    public func run(now: Date = Date()) async throws -> Report {
        try await db.withConnection { session in
            if let report = try await session.withAdvisoryLock(Self.lockKey, { try await runLocked(now: now) }) { return report }
            logger.warning("another lifecycle run is moving orders; waiting for it to end")
            return try await session.withAdvisoryLock(Self.lockKey, wait: true) { try await runLocked(now: now) } ?? Report()
        }
    }

    private func runLocked(now: Date) async throws -> Report {
        var report = Report()
        let hotCutoff = settings.hotRetention.before(now)
        var months = Set<String>()
        while true {
            let rows = try await db.withTransaction { transaction in
                try await transaction.query(LifecycleQueries.archiveBatch, [.timestamptz(hotCutoff), .int32(Int32(Self.batchSize))])
            }
            guard let row = rows.first else { break }
            let moved: Int = try row.decode("orders")
            if moved == 0 { break }
            report.archivedOrders += moved
            report.archivedItems += try row.decode("items", as: Int.self)
            let batchMonths: [String] = try row.decode("months")
            months.formUnion(batchMonths)
            if moved < Self.batchSize { break }
        }
        for month in months.sorted() {
            try await writeMonth(month)
            report.monthsWritten.append(month)
        }
        // Cold: whole archive months before the cutoff leave Postgres, once their Parquet is whole.
        let coldCutoff = settings.coldAfter.before(now)
        let coldMonths: [String] = try await db.query(LifecycleQueries.coldMonths, [.timestamptz(coldCutoff)]).map { try $0.decode("month") }
        for month in coldMonths {
            let written = try await writeMonth(month)
            let removed = try await db.withTransaction { transaction -> Int in
                let range = try Self.range(of: month)
                let rows = try await transaction.query(LifecycleQueries.dropMonth, [.timestamptz(range.start), .timestamptz(range.end)])
                let count: Int = try rows[0].decode("orders")
                guard count == written else {
                    throw DataError(code: .storage, message: "archive month \(month): \(count) orders in Postgres but \(written) in its Parquet; nothing removed")
                }
                return count
            }
            report.coldOrders += removed
            report.coldMonths.append(month)
        }
        return report
    }

    /// Writes archive month `month` (`YYYY-MM`) to the lake from the archive tables, replacing
    /// its files whole (a temporary name, then a rename); returns the orders it took from the
    /// archive tables. A month already cold (its earlier rows left Postgres, `cold_months`)
    /// keeps the rows its Parquet holds besides: an order of that month archived late (it
    /// stayed open for years) joins them instead of replacing the month with itself.
    @discardableResult
    func writeMonth(_ month: String) async throws -> Int {
        let range = try Self.range(of: month)
        let cold = try await !db.query(LifecycleQueries.isColdMonth, [.timestamptz(range.start)]).isEmpty
        let staging = settings.stagingDirectory.appendingPathComponent("lifecycle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        let orders = staging.appendingPathComponent("orders.csv")
        let items = staging.appendingPathComponent("items.csv")
        try await db.withConnection { session in
            _ = try await session.copyOut(LifecycleQueries.exportOrders(month: month), toFile: orders.path)
            _ = try await session.copyOut(LifecycleQueries.exportItems(month: month), toFile: items.path)
        }
        var count = 0
        for (table, csv, columns) in [("orders", orders, LifecycleQueries.orderColumns), ("order_items", items, LifecycleQueries.itemColumns)] {
            let directory = settings.lakeDirectory.appendingPathComponent("archive/\(table)/month=\(month)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let final = directory.appendingPathComponent("part-0.parquet")
            let temporary = directory.appendingPathComponent(".part-0.\(UUID().uuidString).parquet")
            let fresh = "SELECT * FROM \(Self.readCSV(csv, columns: columns))"
            let archivedIDs = "SELECT id FROM \(Self.readCSV(orders, columns: LifecycleQueries.orderColumns))"
            let key = table == "orders" ? "id" : "order_id"
            var source = fresh
            if cold {
                guard FileManager.default.fileExists(atPath: final.path) else {
                    throw DataError(
                        code: .storage,
                        message: "archive month \(month) is cold but \(final.path) is missing: its orders left Postgres and live only there; not rewriting it")
                }
                // The rows that left Postgres, less any order the archive tables hold again
                // (the file's own columns only: not `month` from its directory's name).
                source = "\(fresh) UNION ALL SELECT * FROM read_parquet('\(final.path)', hive_partitioning = false) WHERE \(key) NOT IN (\(archivedIDs))"
            }
            // What the written file holds of the archive tables' rows: the cold pass compares it
            // with the rows it removes from Postgres.
            let sql = """
                COPY (\(source)) TO '\(temporary.path)' (FORMAT parquet);
                SELECT count(*) AS n FROM read_parquet('\(temporary.path)', hive_partitioning = false) WHERE \(key) IN (\(archivedIDs));
                """
            struct Count: Decodable { var n: Int }
            let written = try await duckdb.rows(Count.self, sql, background: true).first?.n ?? 0
            guard rename(temporary.path, final.path) == 0 else {
                throw DataError(code: .storage, message: "cannot rename \(temporary.path) into place: \(String(cString: strerror(errno)))")
            }
            if table == "orders" { count = written }
        }
        return count
    }

    /// DuckDB's reader of an exported CSV (no header, the columns as given, `""` a string).
    static func readCSV(_ file: URL, columns: String) -> String {
        "read_csv('\(file.path)', header = false, auto_detect = false, allow_quoted_nulls = false, columns = {\(columns)})"
    }

    /// `[first of month, first of next month)` in UTC.
    static func range(of month: String) throws -> (start: Date, end: Date) {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, (1...12).contains(parts[1]) else { throw DataError(code: .storage, message: "not a month: \(month)") }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        guard let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1)),
            let end = calendar.date(byAdding: DateComponents(month: 1), to: start)
        else { throw DataError(code: .storage, message: "not a month: \(month)") }
        return (start, end)
    }
}
