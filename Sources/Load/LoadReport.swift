import Foundation

/// The result of a run, as printed and as written by `--json`.
public struct LoadReport: Sendable, Codable {
    public struct Percentiles: Sendable, Codable, Hashable {
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
        public var count: Int
    }

    public struct Check: Sendable, Codable, Hashable {
        public var name: String
        public var passed: Bool
        public var detail: String
    }

    public struct Verification: Sendable, Codable {
        public var passed: Bool
        public var checks: [Check]
        /// Milliseconds from each order's 201 to the XADD of its `order.created` (the stream
        /// entry id's time, Redis's clock: same machine here). The commit precedes the 201 by
        /// the response's trip, so this is the relay's commit → XADD lag less that trip;
        /// entries XADDed before the 201 arrived count as 0.
        public var relayLagMs: Percentiles?
        /// Milliseconds from each `order.created` event's `time` (stamped when the order was
        /// built, before its stock holds and its commit) to its XADD: the relay's lag plus the
        /// order's own commit, an upper bound where `relayLagMs` is a lower one.
        public var relayLagFromCreationMs: Percentiles?
        /// Milliseconds from each `order.created` event's commit (Postgres's
        /// `pg_xact_commit_timestamp` of the outbox row's transaction) to its XADD: the relay's
        /// lag itself. Nil when the database does not track commit timestamps
        /// (`track_commit_timestamp = off`; the embedded and throwaway clusters turn it on).
        public var relayLagFromCommitMs: Percentiles?

        public init(
            passed: Bool, checks: [Check], relayLagMs: Percentiles? = nil, relayLagFromCreationMs: Percentiles? = nil,
            relayLagFromCommitMs: Percentiles? = nil
        ) {
            self.passed = passed
            self.checks = checks
            self.relayLagMs = relayLagMs
            self.relayLagFromCreationMs = relayLagFromCreationMs
            self.relayLagFromCommitMs = relayLagFromCommitMs
        }

        enum CodingKeys: String, CodingKey {
            case passed, checks
            case relayLagMs = "relay_lag_ms"
            case relayLagFromCreationMs = "relay_lag_from_creation_ms"
            case relayLagFromCommitMs = "relay_lag_from_commit_ms"
        }
    }

    /// One second of the run: requests answered in it, errors so far, and its latency
    /// percentiles.
    public struct Sample: Sendable, Codable, Hashable {
        public var second: Int
        public var requests: Int
        public var errors: Int
        public var p50Ms: Double
        public var p99Ms: Double

        enum CodingKeys: String, CodingKey {
            case second, requests, errors
            case p50Ms = "p50_ms"
            case p99Ms = "p99_ms"
        }
    }

    public var mode: String
    public var target: String
    public var durationS: Double
    public var concurrency: Int
    public var mix: String
    public var products: Int
    public var hotProducts: Int
    public var hotShare: Int
    public var ordersCreated: Int
    public var ordersPerS: Double
    public var requestsPerS: Double
    public var retried503: Int
    public var latencyMs: [String: Percentiles]
    public var statusCounts: [String: Int]
    public var verification: Verification
    /// Second by second, for `--report`.
    public var timeline: [Sample] = []
    /// CPU of the `--cpu` processes over the measured phase (set-up and verification left out).
    public var cpu: [CPUUse] = []

    /// One `--cpu` process's CPU over the measured phase.
    public struct CPUUse: Sendable, Codable, Hashable {
        public var label: String
        public var pid: Int32
        /// Seconds of CPU (user + system, the process and its children); nil when the process
        /// exited during the run.
        public var seconds: Double?
        /// Microseconds of CPU per order created (0 when none was; nil as `seconds`).
        public var usPerOrder: Double?

        enum CodingKeys: String, CodingKey {
            case label, pid, seconds
            case usPerOrder = "us_per_order"
        }
    }

    enum CodingKeys: String, CodingKey {
        case mode, target, concurrency, mix, products, verification, timeline, cpu
        case durationS = "duration_s"
        case hotProducts = "hot_products"
        case hotShare = "hot_share"
        case ordersCreated = "orders_created"
        case ordersPerS = "orders_per_s"
        case requestsPerS = "requests_per_s"
        case retried503 = "retried_503"
        case latencyMs = "latency_ms"
        case statusCounts = "status_counts"
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The human summary.
    public var text: String {
        var lines: [String] = []
        lines.append("\(mode) load against \(target): \(String(format: "%.1f", durationS)) s at concurrency \(concurrency), mix \(mix)")
        lines.append(String(format: "orders created %d (%.0f/s), requests %.0f/s, 503s retried %d", ordersCreated, ordersPerS, requestsPerS, retried503))
        lines.append("latency ms      p50      p90      p99    p99.9      max    count")
        for (operation, p) in latencyMs.sorted(by: { $0.key < $1.key }) {
            lines.append(
                operation.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + [p.p50, p.p90, p.p99, p.p999, p.max].map { String(format: "%9.2f", $0) }.joined() + String(format: "%9d", p.count))
        }
        if !cpu.isEmpty {
            lines.append("cpu per order: " + cpu.map { "\($0.label) " + ($0.usPerOrder.map { "\(Int($0.rounded())) us" } ?? "unavailable (exited during the run)") }.joined(separator: ", ")
                + " (measured phase, \(ordersCreated) orders)")
        }
        lines.append("status " + statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        if let lag = verification.relayLagMs, let upper = verification.relayLagFromCreationMs {
            lines.append(String(
                format: "relay lag ms: 201 -> XADD p50 %.1f, p99 %.1f, max %.1f; creation -> XADD p50 %.1f, p99 %.1f, max %.1f (%d events)",
                lag.p50, lag.p99, lag.max, upper.p50, upper.p99, upper.max, lag.count))
        }
        if let lag = verification.relayLagFromCommitMs {
            lines.append(String(format: "relay lag ms: commit -> XADD p50 %.1f, p99 %.1f, max %.1f (%d events)", lag.p50, lag.p99, lag.max, lag.count))
        }
        lines.append("verification: \(verification.passed ? "PASSED" : "FAILED")")
        for check in verification.checks {
            lines.append("  [\(check.passed ? "ok" : "FAIL")] \(check.name): \(check.detail)")
        }
        return lines.joined(separator: "\n")
    }
}
