import Foundation
import Testing

@testable import IntakeServer

/// The dashboard's arithmetic, without a server: the registry's text read back, windowed
/// percentiles and rates, and the page's escaping.
@Suite("Dashboard figures")
struct DashboardFiguresTests {
    static let exposition = #"""
        # TYPE hb_requests counter
        hb_requests{http_route="/v1/orders",http_request_method="POST",http_response_status_code="201"} 10
        hb_requests{http_route="/v1/orders",http_request_method="POST",http_response_status_code="422"} 2
        hb_requests{http_route="/dashboard/data",http_request_method="GET",http_response_status_code="200"} 7
        hb_requests{http_route="/x \"quoted\" \\ ",http_request_method="GET",http_response_status_code="404"} 1
        # TYPE http_server_request_duration histogram
        http_server_request_duration_bucket{http_route="/v1/orders",le="0.01"} 4
        http_server_request_duration_bucket{http_route="/v1/orders",le="0.1"} 10
        http_server_request_duration_bucket{http_route="/v1/orders",le="+Inf"} 12
        http_server_request_duration_sum{http_route="/v1/orders"} 0.6
        http_server_request_duration_count{http_route="/v1/orders"} 12
        intake_actors_active{registry="orders"} 3
        intake_actors_active{registry="stock"} 5
        intake_jobs{state="available"} 2
        intake_outbox_lag_seconds 1.5
        """#

    @Test func theTextFormatIsReadBackWithLabelsEscapesAndInfinity() {
        let samples = PrometheusText.parse(Self.exposition)
        #expect(samples.count == 13)
        #expect(samples.contains(MetricSample(name: "intake_outbox_lag_seconds", labels: [:], value: 1.5)))
        #expect(samples.contains { $0.labels["http_route"] == #"/x "quoted" \ "# && $0.value == 1 })
        #expect(samples.contains { $0.labels["le"] == "+Inf" && $0.value == 12 })
        #expect(PrometheusText.sample("broken{le=\"1\" 3") == nil)
        #expect(PrometheusText.sample("no_value") == nil)
    }

    @Test func quantilesInterpolateWithinTheirBucketAsPrometheusDoes() throws {
        let histogram = try #require(MetricsSnapshot(text: Self.exposition).histogram("http_server_request_duration"))
        #expect(histogram.count == 12)
        // Rank 6 of 12 falls in (0.01, 0.1], which holds ranks 5...10: a third of the way in.
        #expect(abs(try #require(histogram.quantile(0.5)) - 0.04) < 1e-9)
        // Rank 11.88 falls in +Inf: the highest finite bound.
        #expect(histogram.quantile(0.99) == 0.1)
        #expect(Histogram(buckets: [], sum: 0, count: 0).quantile(0.5) == nil)
        let earlier = Histogram(buckets: [.init(upperBound: 0.01, count: 4), .init(upperBound: 0.1, count: 4), .init(upperBound: .infinity, count: 4)], sum: 0.02, count: 4)
        let since = histogram.since(earlier)
        #expect(since.count == 8)
        #expect(since.buckets.map(\.count) == [0, 6, 8])
        #expect(since.quantile(0.5).map { $0 > 0.01 && $0 <= 0.1 } == true)
    }

    @Test func ratesAreTakenOverTheWindowAndLeaveTheDashboardsOwnRequestsOut() {
        let before = MetricsSnapshot(text: Self.exposition)
        let later = MetricsSnapshot(text: Self.exposition
            .replacingOccurrences(of: #"http_response_status_code="201"} 10"#, with: #"http_response_status_code="201"} 30"#)
            .replacingOccurrences(of: #"/dashboard/data",http_request_method="GET",http_response_status_code="200"} 7"#, with: #"/dashboard/data",http_request_method="GET",http_response_status_code="200"} 99"#))
        let first = DashboardFigures(now: before, earlier: nil, seconds: nil)
        #expect(first.ordersPerSecond == nil)
        #expect(first.ordersTotal == 10)
        #expect(first.requestsTotal == 13, "the dashboard's 7 requests are not counted")
        let figures = DashboardFigures(now: later, earlier: before, seconds: 4)
        #expect(figures.ordersPerSecond == 5)
        #expect(figures.requestsPerSecond == 5)
        #expect(figures.errors.map(\.status) == ["404", "422"])
        #expect(figures.errors.map(\.total) == [1, 2])
        #expect(figures.errors.map(\.perSecond) == [0, 0])
        #expect(figures.actorsActive == ["orders": 3, "stock": 5])
        #expect(figures.queue == ["available": 2])
        #expect(figures.outboxLagSeconds == 1.5)
        #expect(figures.latencyMs.p50 == nil, "no request was timed in the window")
    }

    @Test func theHistoryKeepsABaselineAndOnePointPerLook() {
        var history = DashboardHistory()
        let start = Date(timeIntervalSince1970: 1_000_000)
        let snapshot = { (orders: Int) in
            MetricsSnapshot(text: #"hb_requests{http_route="/v1/orders",http_request_method="POST",http_response_status_code="201"} \#(orders)"#)
        }
        #expect(history.record(snapshot(0), at: start).ordersPerSecond == nil)
        #expect(history.record(snapshot(1), at: start.addingTimeInterval(0.1)).ordersPerSecond == nil, "too soon for a rate")
        #expect(history.points.count == 1, "a look right after another is not kept")
        #expect(history.record(snapshot(20), at: start.addingTimeInterval(2)).ordersPerSecond == 10)
        for second in 3...30 { _ = history.record(snapshot(20 + 10 * (second - 2)), at: start.addingTimeInterval(Double(second))) }
        #expect(history.snapshots.count <= 12, "old snapshots are dropped")
        #expect(history.record(snapshot(300 + 50), at: start.addingTimeInterval(31)).ordersPerSecond == 14)
        let slow = history.record(snapshot(400), at: start.addingTimeInterval(1000))
        #expect(slow.ordersPerSecond.map { abs($0 - 50.0 / 969) < 1e-9 } == true, "a slow poller still gets a rate, over a longer window")
        #expect(history.points.count == 1, "points older than the span are dropped")
    }

    @Test func everyTextOnThePageIsEscaped() {
        let hostile = "<img src=x onerror=alert(1)>"
        let data: [String: Any] = [
            "generated_at": hostile,
            "metrics": ["errors": [["status": hostile, "total": 1]], "actors_active": [hostile: 1], "queue": [:]],
            "health": ["ready": false, "checks": ["postgres": "down: \(hostile)"]],
            "etl_runs": ["items": [["pipeline": hostile, "error": hostile]], "error": hostile],
            "data_quality": ["items": [["check": hostile, "passed": false, "detail": hostile]]],
        ]
        let page = DashboardPage.render(data)
        #expect(!page.contains("<img"))
        #expect(page.components(separatedBy: "&lt;img src=x onerror=alert(1)&gt;").count - 1 == 9)
        #expect(page.contains("NOT READY"))
        #expect(!DashboardPage.login(message: hostile).contains("<img"))
    }

    @Test func numbersAreFormattedAsTheScriptFormatsThem() {
        #expect(DashboardPage.Format.rate(NSNumber(value: 1234.4)) == "1234/s")
        #expect(DashboardPage.Format.ms(NSNumber(value: 12.345)) == "12.3 ms")
        #expect(DashboardPage.Format.ms(NSNumber(value: 1.234)) == "1.23 ms")
        #expect(DashboardPage.Format.int(NSNumber(value: 7)) == "7")
        #expect(DashboardPage.Format.rate(nil) == "—")
        #expect(DashboardPage.Format.check(true) == "ok")
        #expect(DashboardPage.Format.check("down: refused") == "down: refused")
    }
}
