import Foundation
import IntakeRuntime
import Logging

/// The data side of one Intake process: pipelines, the lake and warehouse, their reads, and
/// the jobs that run them on the work queue. Built once per process from its settings.
public struct DataPlatform: Sendable {
    public let settings: DataSettings
    public let duckdb: DuckDB
    public let warehouse: Warehouse
    public let runs: EtlRuns
    public let dailySales: DailySales
    public let reports: DailySalesReport
    public let jobs: EtlJobs
    public let quality: DataQuality
    /// Run counts and check results from the database, for `/metrics`; run it as a service
    /// in a serving process.
    public let metrics: DataMetrics
    /// The storage tiers: hot → archive → lake only.
    public let lifecycle: Lifecycle

    /// Fails when the DuckDB CLI cannot be found.
    public init(db: PostgresClient, settings: DataSettings, logger: Logger = Logger(label: "intake.data")) throws {
        self.settings = settings
        duckdb = try DuckDB.locate(explicit: settings.duckdbPath)
        warehouse = Warehouse(path: settings.warehousePath, lakeDirectory: settings.lakeDirectory, duckdb: duckdb, db: db, logger: logger)
        runs = EtlRuns(db: db, events: PipelineEvents(typePrefix: settings.eventTypePrefix), stepAttempts: settings.stepAttempts, logger: logger)
        dailySales = DailySales(db: db, duckdb: duckdb, warehouse: warehouse, settings: settings, logger: logger)
        reports = DailySalesReport(warehouse: warehouse)
        jobs = EtlJobs(runs: runs, pipeline: dailySales, settings: settings, logger: logger)
        quality = DataQuality(db: db, warehouse: ReadOnlyWarehouse(path: settings.warehousePath, duckdb: duckdb), warn: settings.dqWarn, logger: logger)
        metrics = DataMetrics(db: db, quality: quality, logger: logger)
        lifecycle = Lifecycle(db: db, duckdb: duckdb, settings: settings, logger: logger)
    }

    /// Registers every job handler of the data side on `workQueue`.
    public func register(on workQueue: WorkQueue) {
        jobs.register(on: workQueue)
        quality.register(on: workQueue)
        lifecycle.register(on: workQueue)
    }

    /// The data side's recurring jobs, for the process's `JobScheduler`.
    public var periodicJobs: [PeriodicJob] { jobs.periodicJobs + [quality.periodicJob] + ((try? lifecycle.periodicJob).map { [$0] } ?? []) }
}
