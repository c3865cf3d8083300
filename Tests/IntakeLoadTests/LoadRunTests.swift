import Foundation
@testable import IntakeLoad
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Logging
import Testing

@Suite("intake load against real servers")
struct LoadRunTests {
    /// A short in-process run passes every check, the report has the documented fields, and
    /// the checks do fail when the database loses an order or miscounts stock.
    /// The report's charts, from a timeline of its own: a line per series, the axis scaled
    /// to the largest value, text escaped.
    @Test func theHTMLReportDrawsTheTimelineAndEscapesText() {
        var report = LoadReport(
            mode: "http", target: "http://x<y>", durationS: 3, concurrency: 8, mix: "create=100", products: 1, hotProducts: 0, hotShare: 0,
            ordersCreated: 30, ordersPerS: 10, requestsPerS: 10, retried503: 0,
            latencyMs: ["create": .init(p50: 1, p90: 2, p99: 3, p999: 4, max: 5, count: 30)], statusCounts: ["201": 30],
            verification: .init(passed: true, checks: [.init(name: "orders & items", passed: true, detail: "30 of 30")]))
        report.timeline = [.init(second: 1, requests: 9, errors: 0, p50Ms: 1, p99Ms: 3), .init(second: 2, requests: 11, errors: 0, p50Ms: 1.5, p99Ms: 4)]
        let page = report.html()
        #expect(page.contains("http://x&lt;y&gt;"))
        #expect(page.contains("orders &amp; items"))
        #expect(page.components(separatedBy: "<polyline").count - 1 == 3, "throughput, p50 and p99")
        #expect(page.contains("2 s"), "the time axis ends at the run's last second")
        #expect(!page.contains("CPU per order") && !page.contains("Relay lag"), "only what the run measured")

        report.cpu = [.init(label: "serve<1>", pid: 42, seconds: 1.5, usPerOrder: 50_000), .init(label: "gone", pid: 43, seconds: nil, usPerOrder: nil)]
        report.verification.relayLagMs = .init(p50: 0, p90: 1, p99: 4.25, p999: 5, max: 6, count: 30)
        let measured = report.html()
        #expect(measured.contains("CPU per order") && measured.contains("serve&lt;1&gt;") && measured.contains("exited during the run"))
        #expect(measured.contains("Relay lag") && (measured.contains("<td>4.2</td>") || measured.contains("<td>4.3</td>")))
    }

    @Test func relayLagPercentilesAndStreamEntryTimes() throws {
        #expect(Verifier.streamEntryMilliseconds("1764400000123-7") == 1_764_400_000_123)
        #expect(Verifier.streamEntryMilliseconds("garbage") == nil)
        #expect(LoadReport.Percentiles(milliseconds: []) == nil)
        // Through the HDR histogram of the latencies (three significant digits).
        let lag = try #require(LoadReport.Percentiles(milliseconds: (1...100).map(Double.init).shuffled()))
        #expect(abs(lag.p50 - 50) < 0.1 && abs(lag.p99 - 99) < 0.1 && abs(lag.max - 100) < 0.1 && lag.count == 100)
        #expect(abs((LoadReport.Percentiles(milliseconds: [7])?.p99 ?? 0) - 7) < 0.01)
    }

    @Test func inProcessRunVerifiesAndTheChecksCanFail() async throws {
        try await TestServices.withDatabase { url in
            var configuration = IntakeConfiguration()
            configuration.databaseURL = url
            configuration.redisURL = try TestServices.redisURL()
            configuration.eventStream = "test:\(UUID().uuidString):events"
            var options = LoadOptions()
            options.mode = .inProcess
            options.products = 5
            options.hotProducts = 2
            options.stockPerProduct = 10_000
            options.maxItems = 3
            options.duration = nil
            options.requests = 400
            options.concurrency = 16
            options.eventStream = configuration.eventStream
            options.eventWait = .seconds(20)
            options.progress = false
            try options.validate()
            let target = try await InProcessLoadTarget.start(configuration, logger: Logger(label: "test.load"))
            let verifier = target.verifier(options)
            let runner = LoadRunner(options: options, target: target, verifier: verifier)
            let report: LoadReport
            do {
                report = try await runner.run()
            } catch {
                await target.shutdown()
                throw error
            }
            #expect(report.verification.passed, "\(report.text)")
            #expect(report.ordersCreated > 100)
            #expect(report.statusCounts["201"] == report.ordersCreated)
            #expect(report.latencyMs["create"]?.count == report.ordersCreated)
            // Every created order's event, its 201 → XADD lag measured (the relay publishes
            // within its poll interval even without a notification; the verifier waits 20 s).
            let lag = try #require(report.verification.relayLagMs)
            let upper = try #require(report.verification.relayLagFromCreationMs)
            #expect(lag.count == report.ordersCreated && upper.count == report.ordersCreated)
            #expect(lag.p50 <= lag.p99 && lag.p99 <= lag.max && lag.max < 20_000)
            #expect(upper.p99 >= lag.p99, "from creation (before the commit) is never shorter than from the 201")
            // From the commit itself, where the database records commit times (scripts/test's
            // cluster does): between the two bounds.
            let settings = PostgresClient(configuration: try PostgresConfiguration(url: url, poolSize: 1))
            let tracked = try await settings.query("SELECT current_setting('track_commit_timestamp') = 'on' AS on")[0].decode("on", as: Bool.self)
            settings.shutdown()
            if tracked {
                let fromCommit = try #require(report.verification.relayLagFromCommitMs, "\(report.text)")
                #expect(fromCommit.count == report.ordersCreated)
                #expect(fromCommit.p50 <= upper.p50 + 1 && fromCommit.p99 <= upper.p99 + 1, "the commit comes after the creation")
                #expect(fromCommit.p50 + 1 >= lag.p50, "and before the 201")
                #expect(report.text.contains("commit -> XADD"))
            } else {
                #expect(report.verification.relayLagFromCommitMs == nil)
            }
            let json = try JSONSerialization.jsonObject(with: try report.json()) as? [String: Any] ?? [:]
            for field in ["mode", "duration_s", "concurrency", "orders_created", "orders_per_s", "requests_per_s", "latency_ms", "status_counts", "verification"] {
                #expect(json[field] != nil, "report field \(field)")
            }
            #expect(json["mode"] as? String == "in-process")
            #expect(((json["latency_ms"] as? [String: Any])?["create"] as? [String: Any])?.keys.contains("p999") == true)

            // The HTML report: one page with everything in it and nothing fetched from elsewhere.
            let page = report.html()
            #expect(page.hasPrefix("<!doctype html>"))
            #expect(page.contains("<svg"), "the latency distribution is drawn")
            for check in report.verification.checks { #expect(page.contains(LoadReport.escape(check.name)), "\(check.name)") }
            for status in report.statusCounts.keys { #expect(page.contains("<td>\(status)</td>")) }
            #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("<link"), "self-contained")

            // Lose one order's items and move one unit of stock: both checks notice.
            let db = PostgresClient(configuration: try PostgresConfiguration(url: url, poolSize: 1))
            defer { db.shutdown() }
            let victim = try await db.query("SELECT order_id FROM order_items LIMIT 1")[0].decode("order_id", as: UUID.self)
            try await db.query("DELETE FROM order_items WHERE order_id = $1", [.uuid(victim)])
            try await db.query("UPDATE stock_shards SET available = available + 1 WHERE shard = 0 AND product_id = (SELECT product_id FROM stock_shards LIMIT 1)")
            let products = try await db.query("SELECT id FROM products").map { LoadProduct(id: try $0.decode("id"), price: "1.00") }
            let tampered = await verifier.verify(
                created: [CreatedOrder(id: victim, amount: "1.00", lines: [UUID(): 1], user: LoadUser(id: UUID(), token: nil))],
                products: products, stockPerProduct: options.stockPerProduct)
            #expect(!tampered.passed)
            #expect(tampered.checks.filter { !$0.passed }.count >= 2, "\(tampered.checks)")
            await target.shutdown()
        }
    }
}
