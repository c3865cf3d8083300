import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Logging
import Testing

@Suite("intake load against real servers")
struct LoadRunTests {
    /// A short in-process run passes every check, the report has the documented fields, and
    /// the checks do fail when the database loses an order or miscounts stock.
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
            let json = try JSONSerialization.jsonObject(with: try report.json()) as? [String: Any] ?? [:]
            for field in ["mode", "duration_s", "concurrency", "orders_created", "orders_per_s", "requests_per_s", "latency_ms", "status_counts", "verification"] {
                #expect(json[field] != nil, "report field \(field)")
            }
            #expect(json["mode"] as? String == "in-process")
            #expect(((json["latency_ms"] as? [String: Any])?["create"] as? [String: Any])?.keys.contains("p999") == true)

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
