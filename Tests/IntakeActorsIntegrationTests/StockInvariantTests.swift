import Foundation
import IntakeActors
import IntakeRuntime
import IntakeTestSupport
import Synchronization
import Testing

/// The heart of the order domain: whatever the interleaving, stock is conserved, never
/// negative, never oversold, and memory matches the database.
@Suite("Stock invariant under concurrency")
struct StockInvariantTests {
    @Test func randomConcurrentOperationsKeepEveryInvariant() async throws {
        try await withOrderService { service, db in
            let initial = 30
            var catalog: [Product] = []
            for n in 0..<20 {
                catalog.append(try await service.createProduct(sku: "P\(n)", name: "Product \(n)", price: Money("1.25")!, initialStock: initial, shards: 4))
            }
            let products = catalog
            let created = Shared<[Order]>([])
            let restocked = Shared<[UUID: Int]>([:])
            let unexpected = Shared<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<50 {
                    group.addTask {
                        var random = SystemRandomNumberGenerator()
                        for _ in 0..<40 {
                            let roll = Int.random(in: 0..<100, using: &random)
                            let known = created.withLock { $0.randomElement(using: &random) }
                            do {
                                switch (roll, known) {
                                case (0..<50, _), (_, nil):
                                    let lines = products.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random))
                                        .map { NewOrder.Line(productID: $0.id, quantity: Int.random(in: 1...4, using: &random)) }
                                    let order = try await service.createOrder(NewOrder(userID: UUID(), lines: lines, idempotencyKey: "w\(worker)-\(roll)-\(UUID())"))
                                    created.withLock { $0.append(order) }
                                case (50..<65, let order?):
                                    _ = try await service.pay(orderID: order.id, paymentID: UUID().uuidString, amount: order.amount, succeeded: true)
                                case (65..<80, let order?):
                                    _ = try await service.cancel(orderID: order.id, by: Bool.random(using: &random) ? .admin : .customer, reason: .user)
                                case (80..<88, let order?):
                                    _ = try await service.ship(orderID: order.id)
                                case (88..<92, _):
                                    let product = products.randomElement(using: &random)!
                                    let delta = Int.random(in: -5...8, using: &random)
                                    _ = try await service.restock(productID: product.id, delta: delta)
                                    restocked.withLock { $0[product.id, default: 0] += delta }
                                case (_, let order?):
                                    _ = try await service.deliver(orderID: order.id)
                                }
                            } catch let error as DomainError where [.insufficientStock, .invalidTransition, .forbidden].contains(error.code) {
                                // Refusals the rules call for.
                            } catch {
                                unexpected.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(unexpected.withLock { $0 }.isEmpty, "\(unexpected.withLock { $0.prefix(5) })")
            #expect(created.withLock { $0.count } > 100, "enough orders got through to mean something")

            // From the database alone.
            for product in products {
                let row = try await db.query(
                    "SELECT sum(available)::int8 AS a, sum(reserved)::int8 AS r, sum(shipped)::int8 AS s, min(available) AS lowest FROM stock_shards WHERE product_id = $1",
                    [.uuid(product.id)])[0]
                let (available, reserved, shipped) = (try row.decode("a", as: Int.self), try row.decode("r", as: Int.self), try row.decode("s", as: Int.self))
                let net = restocked.withLock { $0[product.id] ?? 0 }
                #expect(available + reserved + shipped == initial + net, "product \(product.sku): initial + restocks = available + reserved + shipped")
                #expect(try row.decode("lowest", as: Int.self) >= 0)
                // The stock ledger says the same: initial stock, restocks and write-offs.
                let ledger = try await db.query("SELECT COALESCE(sum(delta), 0)::int8 AS n FROM stock_ledger WHERE product_id = $1", [.uuid(product.id)])
                #expect(try ledger[0].decode("n", as: Int.self) == initial + net, "product \(product.sku): the ledger")
            }
            // Per shard: reserved = the items of live orders, shipped = those of shipped ones.
            let mismatched = try await db.query("""
                SELECT s.product_id, s.shard FROM stock_shards s
                LEFT JOIN (
                    SELECT i.product_id, i.shard,
                        sum(i.quantity) FILTER (WHERE o.status IN ('PENDING', 'PAID')) AS live,
                        sum(i.quantity) FILTER (WHERE o.status IN ('SHIPPED', 'DELIVERED')) AS gone
                    FROM order_items i JOIN orders o ON o.id = i.order_id GROUP BY 1, 2
                ) x ON x.product_id = s.product_id AND x.shard = s.shard
                WHERE s.reserved <> COALESCE(x.live, 0) OR s.shipped <> COALESCE(x.gone, 0)
                """)
            #expect(mismatched.isEmpty, "\(mismatched.count) shards disagree with their orders")
            // Every order has items, and one event per state change, in order.
            #expect(try await count(db, "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)") == 0)
            let eventMismatch = try await count(db, """
                SELECT count(*) FROM orders o
                WHERE o.version <> (SELECT count(*) FROM outbox e WHERE e.aggregate_id = o.id::text)
                """)
            #expect(eventMismatch == 0, "events per order = 1 (created) + status changes")
            let lastEvents = try await db.query("""
                SELECT o.status, (SELECT e.event_type FROM outbox e WHERE e.aggregate_id = o.id::text ORDER BY e.id DESC LIMIT 1) AS last
                FROM orders o
                """)
            for row in lastEvents {
                let status: String = try row.decode("status")
                let last: String = try row.decode("last")
                #expect(last == (status == "PENDING" ? "com.example.order.created" : "com.example.order.\(status.lowercased())"))
            }

            // Memory equals the database: every shard's actor, then again after passivation.
            for pass in ["in memory", "after reactivation"] {
                for product in products {
                    for shard in 0..<4 {
                        let state = try await service.shards.send(.snapshot, to: ShardKey(productID: product.id, shard: shard)).state
                        let row = try await db.query("SELECT available, reserved FROM stock_shards WHERE product_id = $1 AND shard = $2", [.uuid(product.id), .int32(Int32(shard))])[0]
                        #expect(state.held == 0, "\(pass): no hold left behind")
                        #expect(state.available == (try row.decode("available", as: Int.self)), "\(pass): \(product.sku)#\(shard) available")
                        #expect(state.reserved == (try row.decode("reserved", as: Int.self)), "\(pass): \(product.sku)#\(shard) reserved")
                    }
                }
                try await passivateAll(service.shards)
                try await passivateAll(service.orders)
            }
        }
    }
}
