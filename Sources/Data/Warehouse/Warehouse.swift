import Foundation
import IntakeRuntime
import Logging

/// The DuckDB warehouse file and its one-writer rule.
///
/// DuckDB lets one process write a file, and a process reading it read-only cannot open it
/// while another writes it. So no process ever writes the live file: a load copies it to a
/// temporary file beside it, changes the copy (in one DuckDB transaction), checks it, and
/// renames the copy over the live file. Readers (`-readonly`) open whichever file is live
/// when they start and keep reading that inode, so a read never fails or waits because a
/// load runs, and sees either the old day or the new one, never half of it. Loads are
/// serialised across processes by a Postgres advisory lock named after the file.
///
/// The lake is the warehouse's source: a warehouse file that is missing while the lake holds
/// `daily_sales` days (the file was lost, or `INTAKE_WAREHOUSE_PATH` names a new place) is
/// rebuilt from the lake's Parquet by the next write or read, not created empty.
public struct Warehouse: Sendable {
    public let path: URL
    /// The lake whose `daily_sales/dt=*/part-0.parquet` a missing warehouse is rebuilt from.
    public let lakeDirectory: URL?
    let duckdb: DuckDB
    let db: PostgresClient
    let logger: Logger

    public init(path: URL, lakeDirectory: URL? = nil, duckdb: DuckDB, db: PostgresClient, logger: Logger = Logger(label: "intake.data")) {
        self.path = path
        self.lakeDirectory = lakeDirectory
        self.duckdb = duckdb
        self.db = db
        self.logger = logger
    }

    /// The warehouse's schema, applied by every write (idempotent).
    static let schema = """
        CREATE TABLE IF NOT EXISTS daily_sales (
            sale_date DATE, product_id VARCHAR, sku VARCHAR, region VARCHAR,
            orders BIGINT, units BIGINT, revenue DECIMAL(18,2), etl_run_id VARCHAR);
        CREATE TABLE IF NOT EXISTS daily_sales_lineage (
            sale_date DATE PRIMARY KEY, etl_run_id VARCHAR, snapshot_xmax BIGINT, snapshot_at TIMESTAMP, loaded_at TIMESTAMP);
        """

    /// Runs `change` (SQL) on a copy of the warehouse and returns the rows of its last
    /// statement; `accept` sees them and may throw to abandon the change, after which the live
    /// file is untouched. When `accept` returns, the copy replaces the live file atomically:
    /// the change commits. `afterCommit` runs then, under the same lock (the lake's file is
    /// renamed there: until the warehouse commits, the day's previous file stays whole; if
    /// it throws, the caller retries the whole change, which replaces both again).
    public func write<Row: Decodable & Sendable>(
        _ change: String, returning: Row.Type, accept: @Sendable ([Row]) throws -> Void,
        afterCommit: @Sendable () throws -> Void = {}
    ) async throws -> [Row] {
        let lockKey = "intake.warehouse:" + path.standardizedFileURL.path
        return try await db.withConnection { session in
            // Behind another load, which DuckDB may take minutes over: no I/O timeout.
            try await session.query("SELECT pg_advisory_lock(hashtext($1))", [.text(lockKey)], waitingUpTo: .seconds(7 * 24 * 3600))
            do {
                let rows = try await writeLocked(change, returning: returning, accept: accept, afterCommit: afterCommit) {
                    // A session lock ends with its session: when the connection broke during the
                    // change (a failover), another writer may hold the lock now. Checked on this
                    // backend just before the swap: an error or a missing lock abandons it.
                    let held = try await session.query(
                        """
                        SELECT count(*)::int8 AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                            AND objsubid = 1 AND ((classid::int8 << 32) | objid::int8) = hashtext($1)::int8
                        """, [.text(lockKey)])
                    guard try held.first?.decode("n", as: Int.self) ?? 0 > 0 else {
                        throw DataError(code: .storage, message: "the warehouse lock was lost during the change; not swapping")
                    }
                }
                try await session.query("SELECT pg_advisory_unlock(hashtext($1))", [.text(lockKey)])
                return rows
            } catch {
                do {
                    try await session.query("SELECT pg_advisory_unlock(hashtext($1))", [.text(lockKey)])
                } catch let unlockError {
                    // An unlock fails when the connection broke, which ends the server session
                    // and so the lock with it; say so, and report the write's own error.
                    logger.warning("cannot release the warehouse lock", metadata: ["error": "\(unlockError)"])
                }
                throw error
            }
        }
    }

    private func writeLocked<Row: Decodable & Sendable>(
        _ change: String, returning: Row.Type, accept: @Sendable ([Row]) throws -> Void,
        afterCommit: @Sendable () throws -> Void, stillLocked: () async throws -> Void
    ) async throws -> [Row] {
        let fileManager = FileManager.default
        let directory = path.deletingLastPathComponent()
        try Files.createDirectory(directory)
        Files.sweepTemporaries(of: path, olderThan: 3600, logger: logger)
        let copy = Files.temporary(for: path)
        defer {
            // Gone after a successful swap; left over only when the change was abandoned.
            Files.removeQuietly(copy, logger: logger)
            Files.removeQuietly(URL(fileURLWithPath: copy.path + ".wal"), logger: logger)
        }
        var rebuilt = ""
        if fileManager.fileExists(atPath: path.path) {
            do {
                try fileManager.copyItem(at: path, to: copy)
            } catch {
                throw DataError(code: .storage, message: "cannot copy the warehouse \(path.path): \(error.localizedDescription)")
            }
        } else {
            let days = try lakeDays()
            if !days.isEmpty {
                logger.warning(
                    "the warehouse file is missing: rebuilding it from the lake",
                    metadata: ["warehouse": "\(path.path)", "days": "\(days.count)"])
                rebuilt = try await rebuild(from: days)
            }
        }
        let rows = try await duckdb.rows(Row.self, Self.schema + "\n" + rebuilt + change, database: copy.path, background: true)
        try accept(rows)
        // DuckDB checkpoints on a clean exit: a WAL left beside the copy means it did not.
        guard !fileManager.fileExists(atPath: copy.path + ".wal") else {
            throw DataError(code: .storage, message: "duckdb left a write-ahead log beside \(copy.path); not swapping")
        }
        try Files.sync(copy)
        try await stillLocked()
        try Files.rename(copy, to: path)
        try Files.syncDirectory(directory)
        try afterCommit()
        return rows
    }

    /// The lake's `daily_sales` day files, oldest first.
    func lakeDays() throws -> [URL] {
        guard let lakeDirectory else { return [] }
        let root = lakeDirectory.appendingPathComponent("daily_sales")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: root.path)
        } catch CocoaError.fileReadNoSuchFile {
            return []
        } catch {
            throw DataError(code: .storage, message: "cannot list the lake's days in \(root.path): \(error.localizedDescription)")
        }
        return names.filter { $0.hasPrefix("dt=") && LogicalDate(String($0.dropFirst(3))) != nil }.sorted()
            .map { root.appendingPathComponent($0).appendingPathComponent("part-0.parquet") }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// SQL that fills a new warehouse with the lake's days: their rows, and per day a lineage
    /// row naming the run whose rows they are with that run's snapshot (from `etl_runs`), so
    /// that a run with an older snapshot still cannot replace the day after a rebuild.
    func rebuild(from days: [URL]) async throws -> String {
        let files = "[" + days.map { SQLText.literal($0.path) }.joined(separator: ", ") + "]"
        struct RunOfDay: Decodable, Sendable {
            var day: String
            var etl_run_id: String
        }
        let loaded = try await duckdb.rows(
            RunOfDay.self, "SELECT DISTINCT sale_date::VARCHAR AS day, etl_run_id FROM read_parquet(\(files)) ORDER BY day;", background: true)
        let ids = Set(loaded.compactMap { UUID(canonical: $0.etl_run_id) })
        var snapshots: [String: (xmax: Int64, at: Date)] = [:]
        if !ids.isEmpty {
            for row in try await db.query(
                "SELECT id::text AS id, snapshot_xmax, snapshot_at FROM etl_runs WHERE id = ANY($1) AND snapshot_xmax IS NOT NULL",
                [.uuidArray(Array(ids))])
            {
                snapshots[try row.decode("id")] = (try row.decode("snapshot_xmax"), try row.decode("snapshot_at"))
            }
        }
        var seen = Set<String>()
        let lineage = loaded.filter { seen.insert($0.day).inserted }.map { run -> String in
            let snapshot = snapshots[run.etl_run_id.lowercased()]
            return "(DATE \(SQLText.literal(run.day)), \(SQLText.literal(run.etl_run_id)), \(SQLText.integer(snapshot?.xmax)), "
                + "\(SQLText.timestamp(snapshot?.at)), now()::TIMESTAMP)"
        }
        var sql = """
            INSERT INTO daily_sales
                SELECT sale_date, product_id, sku, region, orders, units, revenue, etl_run_id FROM read_parquet(\(files));

            """
        if !lineage.isEmpty {
            sql += "INSERT INTO daily_sales_lineage VALUES \(lineage.joined(separator: ", "));\n"
        }
        return sql
    }

    /// Creates the warehouse when there is none yet: rebuilt from the lake's days, or empty
    /// (the schema only).
    public func ensureExists() async throws {
        guard !FileManager.default.fileExists(atPath: path.path) else { return }
        struct Nothing: Decodable, Sendable {}
        _ = try await write("SELECT 1 AS one WHERE false;", returning: Nothing.self, accept: { _ in })
    }

    /// Runs `sql` read-only against the live file (created empty first if there is none).
    public func read<Row: Decodable & Sendable>(_ sql: String, as type: Row.Type) async throws -> [Row] {
        try await ensureExists()
        return try await ReadOnlyWarehouse(path: path, duckdb: duckdb).read(sql, as: type)
    }
}

/// Reads of the warehouse file, with no database connection: what any process may do at any
/// time, even while a load runs (see `Warehouse`).
public struct ReadOnlyWarehouse: Sendable {
    public let path: URL
    let duckdb: DuckDB

    public init(path: URL, duckdb: DuckDB) {
        self.path = path
        self.duckdb = duckdb
    }

    /// Runs `sql` read-only; a statement that would write (or touch any other file) is refused
    /// by DuckDB and reported as `readOnly`.
    public func read<Row: Decodable & Sendable>(_ sql: String, as type: Row.Type) async throws -> [Row] {
        try Self.refuseDotCommands(sql)
        try requireFile()
        do {
            return try await duckdb.rows(Row.self, sql, database: path.path, mode: .readOnly)
        } catch let error as DataError where error.code == .duckdb {
            throw Self.classify(error)
        }
    }

    /// `read`, printed by DuckDB in `format` (for the CLI); stopped after `timeLimit`. With
    /// `streamingTo`, printed straight there (a result of any size, no memory held here) and
    /// "" returned.
    public func query(
        _ sql: String, format: DuckDB.OutputMode = .box, timeLimit: Duration? = nil, streamingTo destination: FileHandle? = nil
    ) async throws -> String {
        try Self.refuseDotCommands(sql)
        try requireFile()
        do {
            return try await duckdb.run(sql, database: path.path, mode: .readOnly, output: format, timeLimit: timeLimit, streamingTo: destination)
        } catch let error as DataError where error.code == .duckdb {
            throw Self.classify(error)
        }
    }

    func requireFile() throws {
        guard FileManager.default.fileExists(atPath: path.path) else {
            throw DataError(code: .notFound, message: "the warehouse \(path.path) does not exist: no pipeline run has loaded it yet, or it was lost (the next load or report rebuilds it from the lake)")
        }
    }

    static func classify(_ error: DataError) -> DataError {
        if error.message.contains("file system operations are disabled by configuration") {
            // Reading a file is refused as writing one is: name what is refused.
            return DataError(
                code: .readOnly,
                message: "refused: warehouse sql reads the warehouse's tables only, no files — the lake's Parquet included (\(firstLine(error.message)))")
        }
        if isReadOnlyRefusal(error.message) {
            return DataError(code: .readOnly, message: "refused: the warehouse is read-only here (\(firstLine(error.message)))")
        }
        return DataError(code: .duckdb, message: firstLine(error.message))
    }

    /// The CLI's own commands (`.shell`, `.output`, ...) are not SQL: refused.
    static func refuseDotCommands(_ sql: String) throws {
        for line in sql.split(whereSeparator: \.isNewline) where line.trimmingCharacters(in: .whitespaces).hasPrefix(".") {
            throw DataError(code: .readOnly, message: "refused: only SQL is accepted, not duckdb commands (\(line.trimmingCharacters(in: .whitespaces)))")
        }
    }

    static func isReadOnlyRefusal(_ message: String) -> Bool {
        message.contains("read-only mode") || message.contains("read-only") || message.contains("disabled by configuration")
            || message.contains("Cannot enable external access")
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(whereSeparator: \.isNewline).first ?? "").trimmingCharacters(in: .whitespaces)
    }
}
