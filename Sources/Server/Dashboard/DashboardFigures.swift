import Foundation

/// The dashboard's metric figures, from the registry's snapshot now and one `window`
/// seconds earlier: rates and percentiles over that window, gauges as they are now. With no
/// earlier snapshot (the first look) rates and windowed percentiles are nil. The dashboard's
/// own requests are left out of the HTTP figures, so an idle server looks idle.
struct DashboardFigures: Sendable, Equatable, Encodable {
    struct Percentiles: Sendable, Equatable, Encodable {
        var p50: Double?
        var p90: Double?
        var p99: Double?
    }

    struct StatusFigures: Sendable, Equatable, Encodable {
        var status: String
        var total: Int
        var perSecond: Double?

        enum CodingKeys: String, CodingKey {
            case status, total
            case perSecond = "per_second"
        }
    }

    /// Seconds between the two snapshots; nil on the first look.
    var windowSeconds: Double?
    /// `POST /v1/orders` answered `201`.
    var ordersPerSecond: Double?
    var ordersTotal: Int
    var requestsPerSecond: Double?
    var requestsTotal: Int
    /// Request latency over the window, all routes, milliseconds.
    var latencyMs: Percentiles
    /// Every 4xx and 5xx status: since start, and per second over the window.
    var errors: [StatusFigures]
    /// Activations per actor registry (`orders`, `stock`, ...).
    var actorsActive: [String: Int]
    /// Mailbox depth seen by messages over the window.
    var mailboxDepth: Percentiles
    /// Write sets per group-commit transaction, mean over the window.
    var batchSize: Double?
    var commitsPerSecond: Double?
    /// Group-commit transaction latency over the window, milliseconds.
    var commitMs: Percentiles
    /// Jobs by state (the rescuer refreshes these every few seconds).
    var queue: [String: Int]
    /// Age of the oldest unpublished outbox event.
    var outboxLagSeconds: Double?
    var outboxPublishedPerSecond: Double?

    enum CodingKeys: String, CodingKey {
        case windowSeconds = "window_seconds"
        case ordersPerSecond = "orders_per_second"
        case ordersTotal = "orders_total"
        case requestsPerSecond = "requests_per_second"
        case requestsTotal = "requests_total"
        case latencyMs = "latency_ms"
        case errors
        case actorsActive = "actors_active"
        case mailboxDepth = "mailbox_depth"
        case batchSize = "batch_size"
        case commitsPerSecond = "commits_per_second"
        case commitMs = "commit_ms"
        case queue
        case outboxLagSeconds = "outbox_lag_seconds"
        case outboxPublishedPerSecond = "outbox_published_per_second"
    }

    /// Requests that are not the dashboard's own.
    static func isMeasured(_ labels: [String: String]) -> Bool { !(labels["http_route"] ?? "").hasPrefix("/dashboard") }

    static func isOrderCreated(_ labels: [String: String]) -> Bool {
        labels["http_route"] == "/v1/orders" && labels["http_request_method"] == "POST" && labels["http_response_status_code"] == "201"
    }

    init(now: MetricsSnapshot, earlier: MetricsSnapshot?, seconds: Double?) {
        let window = seconds.flatMap { $0 > 0 ? $0 : nil }
        let before = window == nil ? nil : earlier
        func rate(_ name: String, where filter: ([String: String]) -> Bool = { _ in true }) -> Double? {
            guard let window, let before else { return nil }
            let delta = (now.sum(name, where: filter) ?? 0) - (before.sum(name, where: filter) ?? 0)
            return max(0, delta) / window
        }
        func windowed(_ name: String, where filter: ([String: String]) -> Bool = { _ in true }) -> Histogram? {
            guard let before else { return nil }
            return now.histogram(name, where: filter)?.since(before.histogram(name, where: filter))
        }
        func percentiles(_ histogram: Histogram?, scale: Double) -> Percentiles {
            Percentiles(
                p50: histogram?.quantile(0.5).map { $0 * scale }, p90: histogram?.quantile(0.9).map { $0 * scale },
                p99: histogram?.quantile(0.99).map { $0 * scale })
        }

        windowSeconds = window
        ordersPerSecond = rate("hb_requests", where: Self.isOrderCreated)
        ordersTotal = Int(now.sum("hb_requests", where: Self.isOrderCreated) ?? 0)
        requestsPerSecond = rate("hb_requests", where: Self.isMeasured)
        requestsTotal = Int(now.sum("hb_requests", where: Self.isMeasured) ?? 0)
        latencyMs = percentiles(windowed("http_server_request_duration", where: Self.isMeasured), scale: 1000)

        let totals = now.sums("hb_requests", by: "http_response_status_code", where: Self.isMeasured).filter { (Int($0.key) ?? 0) >= 400 }
        let earlierTotals = before?.sums("hb_requests", by: "http_response_status_code", where: Self.isMeasured) ?? [:]
        errors = totals.sorted { $0.key < $1.key }.map { status, total in
            StatusFigures(
                status: status, total: Int(total),
                perSecond: window.flatMap { window in before.map { _ in max(0, total - (earlierTotals[status] ?? 0)) / window } })
        }

        actorsActive = now.sums("intake_actors_active", by: "registry").mapValues { Int($0) }
        mailboxDepth = percentiles(windowed("intake_actor_mailbox_depth"), scale: 1)
        batchSize = windowed("intake_group_commit_batch_write_sets")?.mean
        commitsPerSecond = rate("intake_group_commit_transactions_total")
        commitMs = percentiles(windowed("intake_group_commit_seconds"), scale: 1000)
        queue = now.sums("intake_jobs", by: "state").mapValues { Int($0) }
        outboxLagSeconds = now.sum("intake_outbox_lag_seconds")
        outboxPublishedPerSecond = rate("intake_outbox_published_total")
    }
}
