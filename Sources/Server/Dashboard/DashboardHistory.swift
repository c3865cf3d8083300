import Foundation

/// What the dashboard remembers between looks: the registry's recent snapshots, to take
/// rates over a window, and one point per look for the charts. Nothing is sampled while
/// nobody looks. A value type with no I/O; `Dashboard` keeps it under a lock.
struct DashboardHistory: Sendable {
    /// One moment of the charts.
    struct Point: Sendable, Equatable, Encodable {
        /// Unix time, seconds.
        var time: Double
        var ordersPerSecond: Double?
        var requestsPerSecond: Double?
        var p50Ms: Double?
        var p99Ms: Double?
        var errorsPerSecond: Double?
        var batchSize: Double?
        var commitP99Ms: Double?
        var outboxLagSeconds: Double?
        var queueDepth: Int

        enum CodingKeys: String, CodingKey {
            case time = "t"
            case ordersPerSecond = "orders_per_second"
            case requestsPerSecond = "requests_per_second"
            case p50Ms = "p50_ms"
            case p99Ms = "p99_ms"
            case errorsPerSecond = "errors_per_second"
            case batchSize = "batch_size"
            case commitP99Ms = "commit_p99_ms"
            case outboxLagSeconds = "outbox_lag_seconds"
            case queueDepth = "queue_depth"
        }

        init(time: Date, figures: DashboardFigures) {
            self.time = time.timeIntervalSince1970
            ordersPerSecond = figures.ordersPerSecond
            requestsPerSecond = figures.requestsPerSecond
            p50Ms = figures.latencyMs.p50
            p99Ms = figures.latencyMs.p99
            errorsPerSecond = figures.windowSeconds == nil ? nil : figures.errors.reduce(0) { $0 + ($1.perSecond ?? 0) }
            batchSize = figures.batchSize
            commitP99Ms = figures.commitMs.p99
            outboxLagSeconds = figures.outboxLagSeconds
            queueDepth = figures.queue.filter { $0.key != "running" }.values.reduce(0, +)
        }
    }

    /// Rates are taken over about this many seconds.
    var window: Double = 10
    /// Chart points older than this are dropped.
    var span: Double = 300
    /// A look closer than this to the last kept one is answered but not kept (two viewers
    /// polling do not double the points).
    var minimumInterval: Double = 0.5

    private(set) var snapshots: [(at: Date, metrics: MetricsSnapshot)] = []
    private(set) var points: [Point] = []

    /// The figures for `snapshot`, taken at `now`; keeps it (and its chart point) unless the
    /// last kept look is under `minimumInterval` old.
    mutating func record(_ snapshot: MetricsSnapshot, at now: Date) -> DashboardFigures {
        let usable = snapshots.filter { now.timeIntervalSince($0.at) >= minimumInterval }
        let baseline = usable.first { now.timeIntervalSince($0.at) <= window } ?? usable.last
        let figures = DashboardFigures(now: snapshot, earlier: baseline?.metrics, seconds: baseline.map { now.timeIntervalSince($0.at) })
        if let last = snapshots.last, now.timeIntervalSince(last.at) < minimumInterval { return figures }
        snapshots.append((now, snapshot))
        // Keep one snapshot older than the window, so a slow poller still has a baseline.
        while snapshots.count > 1, now.timeIntervalSince(snapshots[1].at) >= window { snapshots.removeFirst() }
        points.append(Point(time: now, figures: figures))
        points.removeAll { now.timeIntervalSince1970 - $0.time > span }
        return figures
    }
}
