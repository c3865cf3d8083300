import Foundation
import IntakeRuntime
import Logging

/// The `daily_sales` pipeline's steps (DATA.md), each run by a job of the work queue.
///
/// Between steps the run's files live in its staging directory (`<staging>/<run id>/`):
/// `items.csv` (extract), `anonymized.parquet`, `aggregate.parquet`. Every step only reads
/// its input and (re)writes its output, so a step that runs twice (a retry, a rescue after a
/// crash) does the same thing again. A step whose input is missing (another machine ran the
/// step before, or the directory was cleaned) asks for the run to start over from extract.
public struct DailySales: Sendable {
    public enum Step: String, Sendable, Codable, CaseIterable {
        case extract, anonymize, aggregate, load

        /// The step after this one; nil after `load`.
        public var next: Step? {
            switch self {
            case .extract: .anonymize
            case .anonymize: .aggregate
            case .aggregate: .load
            case .load: nil
            }
        }
    }

    /// The extract's control totals, read in its snapshot.
    public struct Extracted: Sendable, Hashable {
        public var orders: Int64
        public var revenue: String
        public var units: Int64
        public var snapshot: EtlRun.Snapshot
    }

    struct Units: Sendable, Decodable {
        var units: Int64
    }

    /// What the load committed.
    public struct Loaded: Sendable, Hashable, Decodable {
        public var rows: Int64
        public var units: Int64
        public var revenue: String
    }

    /// A step's input is not in the staging directory.
    /// (Or damaged: a file that does not hold what Postgres counted.) Starting over from
    /// extract writes it again.
    struct StagedInputMissing: Error, CustomStringConvertible {
        var path: String
        var problem = "is missing"
        var description: String { "staged input \(path) \(problem)" }
    }

    let db: PostgresClient
    let duckdb: DuckDB
    let warehouse: Warehouse
    let settings: DataSettings
    let logger: Logger

    init(db: PostgresClient, duckdb: DuckDB, warehouse: Warehouse, settings: DataSettings, logger: Logger) {
        self.db = db
        self.duckdb = duckdb
        self.warehouse = warehouse
        self.settings = settings
        self.logger = logger
    }

    func stagingDirectory(_ run: EtlRun) -> URL {
        settings.stagingDirectory.appendingPathComponent(run.id.lowercasedString)
    }

    /// `lake/daily_sales/dt=D/part-0.parquet`, as the run record names it.
    public static func outputName(_ date: LogicalDate) -> String { "lake/daily_sales/dt=\(date)/part-0.parquet" }

    func partitionDirectory(_ date: LogicalDate) -> URL {
        settings.lakeDirectory.appendingPathComponent("daily_sales").appendingPathComponent("dt=\(date)")
    }

    // MARK: Steps

    /// 1. extract: in one REPEATABLE READ snapshot, the day's control totals and its items
    /// (streamed by `COPY ... TO STDOUT` into `items.csv`, never held in memory).
    func extract(_ run: EtlRun) async throws -> Extracted {
        let directory = stagingDirectory(run)
        try Files.createDirectory(directory)
        let items = directory.appendingPathComponent("items.csv")
        let temporary = Files.temporary(for: items)
        defer { Files.removeQuietly(temporary, logger: logger) }
        let extracted = try await db.withTransaction(.repeatableRead) { transaction in
            // The first statement takes the snapshot; every read sees the same one. A cold
            // month's orders left Postgres (only the lake's archive has them): a re-run would
            // replace the day's rows with an empty extract.
            let first = try await transaction.query(EtlQueries.isCold(run.logicalDate))
            guard let cold = first.first else { throw DataError(code: .storage, message: "the extract's first statement returned no row") }
            let snapshot = EtlRun.Snapshot(xmax: try cold.decode("snapshot_xmax"), at: try cold.decode("snapshot_at"))
            if try cold.decode("cold", as: Bool.self) {
                throw DataError(
                    code: .validation,
                    message: "the orders of \(run.logicalDate) have left Postgres (their month is cold, INTAKE_COLD_AFTER): its warehouse rows stay as they were loaded")
            }
            let totals = try await transaction.query(EtlQueries.controlTotals(run.logicalDate))
            try await transaction.copyOut(EtlQueries.extractItems(run.logicalDate), toFile: temporary.path)
            guard let row = totals.first else { throw DataError(code: .storage, message: "control totals returned no row") }
            return Extracted(
                orders: try row.decode("orders"), revenue: try row.decode("revenue"), units: try row.decode("units"), snapshot: snapshot)
        }
        try Files.rename(temporary, to: items)
        return extracted
    }

    /// 2. anonymize: only non-personal columns go on (the extract never read a user column;
    /// the order id stays in staging only, to count distinct orders); a missing region
    /// becomes `unknown`. Returns the extracted file's units, which must be those Postgres
    /// counted in the extract's snapshot (a run extracted before that count was kept records
    /// them as its control total).
    func anonymize(_ run: EtlRun) async throws -> Int64 {
        let directory = stagingDirectory(run)
        let items = try input(directory.appendingPathComponent("items.csv"))
        let output = directory.appendingPathComponent("anonymized.parquet")
        let temporary = Files.temporary(for: output)
        defer { Files.removeQuietly(temporary, logger: logger) }
        let units = try await duckdb.rows(
            Units.self, DailySalesSQL.anonymize(items: items, into: temporary), background: true)
        guard units.count == 1, let total = units.first?.units else {
            throw DataError(code: .duckdb, message: "expected the extracted units from duckdb, got \(units.count) rows")
        }
        if let counted = run.sourceUnits, counted != total {
            throw StagedInputMissing(path: items.path, problem: "holds \(total) units, Postgres counted \(counted) in the extract's snapshot")
        }
        try Files.rename(temporary, to: output)
        return total
    }

    /// 3. aggregate: per (product, region), distinct orders, units and exact revenue; the
    /// result is reconciled against the extract's control totals before anything is loaded.
    func aggregate(_ run: EtlRun) async throws -> Loaded {
        let directory = stagingDirectory(run)
        let anonymized = try input(directory.appendingPathComponent("anonymized.parquet"))
        let output = directory.appendingPathComponent("aggregate.parquet")
        let temporary = Files.temporary(for: output)
        defer { Files.removeQuietly(temporary, logger: logger) }
        let totals = try await duckdb.rows(
            Loaded.self, DailySalesSQL.aggregate(anonymized, date: run.logicalDate, runID: run.id, into: temporary), background: true)
        let loaded = try Self.single(totals)
        try reconcile(run, loaded)
        try Files.rename(temporary, to: output)
        return loaded
    }

    /// 4. load: on a copy of the warehouse, in one DuckDB transaction, day D's rows are
    /// replaced by the aggregate; the day's Parquet file is written from those rows; both are
    /// reconciled again, then the warehouse is renamed into place (the load commits) and the
    /// Parquet file after it. A crash between the two leaves the previous file, and the run
    /// unfinished: its retry loads the day again and replaces both.
    ///
    /// A day keeps the latest snapshot loaded into it (`daily_sales_lineage`): a run whose
    /// extract is older than the one the day holds (two runs of D at once, the older one
    /// finishing last) loads nothing and fails with `superseded`, naming the run that holds it.
    func load(_ run: EtlRun) async throws -> Loaded {
        let directory = stagingDirectory(run)
        let aggregate = try input(directory.appendingPathComponent("aggregate.parquet"))
        let partition = partitionDirectory(run.logicalDate)
        try Files.createDirectory(partition)
        let finalFile = partition.appendingPathComponent("part-0.parquet")
        Files.sweepTemporaries(of: finalFile, olderThan: 3600, logger: logger)
        let temporary = Files.temporary(for: finalFile)
        defer { Files.removeQuietly(temporary, logger: logger) }
        let rows: [Loaded]
        do {
            rows = try await warehouse.write(
                DailySalesSQL.load(aggregate, run: run, parquet: temporary),
                returning: Loaded.self,
                accept: { rows in try reconcile(run, try Self.single(rows)) },
                afterCommit: {
                    try Files.sync(temporary)
                    try Files.rename(temporary, to: finalFile)
                    try Files.syncDirectory(partition)
                })
        } catch let error as DataError where error.code == .duckdb {
            guard let refusal = DailySalesSQL.superseded(error.message) else { throw error }
            throw DataError(code: .superseded, message: refusal)
        }
        return try Self.single(rows)
    }

    /// Removes the run's staging directory.
    func cleanUp(_ run: EtlRun) {
        Files.removeQuietly(stagingDirectory(run), logger: logger)
    }

    /// Removes this machine's staging directories of runs that have ended: what a process
    /// killed mid-run left behind, its run since finished by another (or failed).
    func sweepStaging() async throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: settings.stagingDirectory.path)) ?? []
        let ids = names.compactMap { UUID(canonical: $0) }
        guard !ids.isEmpty else { return }
        let ended: [UUID] = try await db.query(EtlQueries.endedRuns, [.uuidArray(ids)]).map { try $0.decode("id") }
        for id in ended {
            Files.removeQuietly(settings.stagingDirectory.appendingPathComponent(id.lowercasedString), logger: logger)
        }
    }

    // MARK: Helpers

    func reconcile(_ run: EtlRun, _ loaded: Loaded) throws {
        guard let sourceRevenue = run.sourceRevenue.flatMap(Cents.parse), let sourceUnits = run.sourceUnits else {
            throw DataError(code: .reconciliation, message: "reconciliation failed: the run has no control totals from its extract")
        }
        guard let loadedRevenue = Cents.parse(loaded.revenue) else {
            throw DataError(code: .duckdb, message: "duckdb returned revenue \(loaded.revenue), not a decimal")
        }
        let check = Reconciliation(
            source: .init(revenueCents: sourceRevenue, units: sourceUnits), loaded: .init(revenueCents: loadedRevenue, units: loaded.units))
        if let mismatch = check.mismatch {
            throw DataError(code: .reconciliation, message: mismatch)
        }
    }

    static func single(_ rows: [Loaded]) throws -> Loaded {
        guard rows.count == 1, let row = rows.first else {
            throw DataError(code: .duckdb, message: "expected one row of totals from duckdb, got \(rows.count)")
        }
        return row
    }

    func input(_ url: URL) throws -> URL {
        guard FileManager.default.fileExists(atPath: url.path) else { throw StagedInputMissing(path: url.path) }
        return url
    }
}
