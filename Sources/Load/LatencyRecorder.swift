import Histogram
import Synchronization

/// Latencies per operation (HDR histograms, microseconds) and answers per status code,
/// shared by every worker of a run.
public final class LatencyRecorder: Sendable {
    struct State {
        var histograms: [OperationMix.Operation: Histogram<UInt64>] = [:]
        var statuses: [Int: Int] = [:]
        var requests = 0
        var errors = 0
        var retries = 0
        /// Since the last progress line.
        var window = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var windowRequests = 0
    }

    private let state = Mutex(State())
    private static let emptyHistogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    /// One answered request. `status` is the HTTP status (in-process: the one the server
    /// would have answered).
    public func record(_ operation: OperationMix.Operation, status: Int, latency: Duration) {
        let micros = UInt64(max(1, latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000))
        state.withLock { state in
            // In place: a copy of the histogram per request would cost more than the request.
            _ = state.histograms[operation, default: Self.emptyHistogram].record(micros)
            _ = state.window.record(micros)
            state.statuses[status, default: 0] += 1
            state.requests += 1
            state.windowRequests += 1
            if status >= 500 || status == 0 { state.errors += 1 }
        }
    }

    /// Requests answered so far, whatever their status: above zero once the run is measuring
    /// (its set-up is done).
    public var requestsAnswered: Int { state.withLock { $0.requests } }

    /// A 503 that will be retried after its Retry-After.
    public func recordRetry() {
        state.withLock { $0.retries += 1 }
    }

    public struct Progress: Sendable {
        public var requests: Int
        public var windowRequests: Int
        public var errors: Int
        public var p50Millis: Double
        public var p99Millis: Double
    }

    /// Totals, and the window since the previous call (which starts a new one).
    func takeProgress() -> Progress {
        state.withLock { state in
            let progress = Progress(
                requests: state.requests, windowRequests: state.windowRequests, errors: state.errors,
                p50Millis: Double(state.window.valueAtPercentile(50)) / 1000, p99Millis: Double(state.window.valueAtPercentile(99)) / 1000)
            state.window.reset()
            state.windowRequests = 0
            return progress
        }
    }

    struct Summary {
        var latencies: [OperationMix.Operation: LoadReport.Percentiles]
        var statuses: [Int: Int]
        var requests: Int
        var retries: Int
    }

    func summary() -> Summary {
        state.withLock { state in
            Summary(
                latencies: state.histograms.mapValues(LoadReport.Percentiles.init(microseconds:)),
                statuses: state.statuses, requests: state.requests, retries: state.retries)
        }
    }
}

extension LoadReport.Percentiles {
    /// Milliseconds at the report's percentiles of a histogram of microseconds.
    init(microseconds histogram: Histogram<UInt64>) {
        func millis(_ value: UInt64) -> Double { (Double(value) / 1000 * 1000).rounded() / 1000 }
        self.init(
            p50: millis(histogram.valueAtPercentile(50)), p90: millis(histogram.valueAtPercentile(90)),
            p99: millis(histogram.valueAtPercentile(99)), p999: millis(histogram.valueAtPercentile(99.9)), max: millis(histogram.max),
            count: Int(histogram.totalCount))
    }

    /// The percentiles of `milliseconds`, through the same HDR histogram as request latencies;
    /// nil when there are none.
    init?(milliseconds values: [Double]) {
        guard !values.isEmpty else { return nil }
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        for value in values { _ = histogram.record(UInt64(Swift.min(Swift.max(0, value * 1000), 600_000_000))) }
        self.init(microseconds: histogram)
    }
}
