import Foundation

/// The process's metrics at one moment, as `/metrics` exported them: what the dashboard
/// subtracts from a later snapshot to get rates and windowed percentiles.
struct MetricsSnapshot: Sendable {
    var samples: [MetricSample]

    init(samples: [MetricSample]) {
        self.samples = samples
    }

    init(text: String) {
        samples = PrometheusText.parse(text)
    }

    /// The sum of every series of `name` whose labels pass `filter`; nil when there is none.
    func sum(_ name: String, where filter: ([String: String]) -> Bool = { _ in true }) -> Double? {
        let matching = samples.filter { $0.name == name && filter($0.labels) }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// The sums of the series of `name`, by the value of `label`.
    func sums(_ name: String, by label: String, where filter: ([String: String]) -> Bool = { _ in true }) -> [String: Double] {
        var out: [String: Double] = [:]
        for sample in samples where sample.name == name && filter(sample.labels) {
            out[sample.labels[label] ?? "", default: 0] += sample.value
        }
        return out
    }

    /// The histogram `name` (its `_bucket`, `_sum` and `_count` series), every series whose
    /// labels pass `filter` merged by bucket; nil when it has no series.
    func histogram(_ name: String, where filter: ([String: String]) -> Bool = { _ in true }) -> Histogram? {
        var buckets: [Double: Double] = [:]
        for sample in samples where sample.name == name + "_bucket" && filter(sample.labels) {
            guard let le = sample.labels["le"].flatMap({ PrometheusText.number(Substring($0)) }) else { continue }
            buckets[le, default: 0] += sample.value
        }
        guard !buckets.isEmpty else { return nil }
        return Histogram(
            buckets: buckets.sorted { $0.key < $1.key }.map { Histogram.Bucket(upperBound: $0.key, count: $0.value) },
            sum: sum(name + "_sum", where: filter) ?? 0, count: sum(name + "_count", where: filter) ?? 0)
    }
}

/// A cumulative Prometheus histogram: `count` observations at most `upperBound`, per bucket.
struct Histogram: Sendable, Equatable {
    struct Bucket: Sendable, Equatable {
        var upperBound: Double
        var count: Double
    }

    var buckets: [Bucket]
    var sum: Double
    var count: Double

    /// The observations made since `earlier` (a counter reset — a restarted process — leaves
    /// the later histogram as it is).
    func since(_ earlier: Histogram?) -> Histogram {
        guard let earlier, earlier.count <= count else { return self }
        let before = Dictionary(earlier.buckets.map { ($0.upperBound, $0.count) }, uniquingKeysWith: +)
        return Histogram(
            buckets: buckets.map { Bucket(upperBound: $0.upperBound, count: max(0, $0.count - (before[$0.upperBound] ?? 0))) },
            sum: sum - earlier.sum, count: count - earlier.count)
    }

    /// The mean observation; nil without observations.
    var mean: Double? { count > 0 ? sum / count : nil }

    /// The `q`-quantile (0...1) as Prometheus' `histogram_quantile` estimates it: linear within
    /// the bucket the rank falls in; the highest finite bound when it falls in `+Inf`. Nil
    /// without observations.
    func quantile(_ q: Double) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0
        var below = 0.0
        for bucket in buckets {
            if bucket.count >= rank {
                if bucket.upperBound == .infinity { return lowerBound }
                let inBucket = bucket.count - below
                guard inBucket > 0 else { return bucket.upperBound }
                return lowerBound + (bucket.upperBound - lowerBound) * (rank - below) / inBucket
            }
            lowerBound = bucket.upperBound
            below = bucket.count
        }
        return lowerBound
    }
}
