import Foundation
import IntakeData
import Synchronization

/// The operator's dashboard (`GET /dashboard`): what the process's metrics registry, the
/// readiness checks and the data side's run and check records say now. It keeps no numbers
/// of its own: each look reads the registry `/metrics` exports (through `metricsText`),
/// and remembers recent looks only to take rates and draw the charts.
final class Dashboard: Sendable {
    let readiness: Readiness
    let data: DataPlatform?
    let metricsText: @Sendable () -> String
    private let history: Mutex<DashboardHistory>

    /// ETL runs shown, newest first.
    static let runsShown = 8

    init(readiness: Readiness, data: DataPlatform?, metricsText: @escaping @Sendable () -> String = PrometheusExport.text) {
        self.readiness = readiness
        self.data = data
        self.metricsText = metricsText
        history = Mutex(DashboardHistory())
    }

    /// Everything the page shows, now. Never throws: a part that cannot be read says why.
    func look(now: Date = Date()) async -> DashboardData {
        let snapshot = MetricsSnapshot(text: metricsText())
        let (figures, series) = history.withLock { history in (history.record(snapshot, at: now), history.points) }
        async let health = readiness.check()
        async let runs = listing { data in try await data.runs.page(pipeline: nil, limit: Self.runsShown, after: nil).runs.map(DashboardData.Run.init) }
        async let checks = listing { data in try await data.quality.latest().map(DashboardData.Check.init) }
        return DashboardData(
            generatedAt: Timestamp.string(now), metrics: figures, health: await health, etlRuns: await runs, dataQuality: await checks,
            series: series)
    }

    private func listing<Item: Sendable & Encodable>(_ read: @Sendable (DataPlatform) async throws -> [Item]) async -> DashboardData.Listing<Item> {
        guard let data else { return .init(items: [], error: "the data platform is off: the DuckDB CLI was not found (INTAKE_DUCKDB)") }
        do {
            return .init(items: try await mappingDataErrors { try await read(data) }, error: nil)
        } catch {
            return .init(items: [], error: Problem.from(error)?.detail ?? "the read failed")
        }
    }
}
