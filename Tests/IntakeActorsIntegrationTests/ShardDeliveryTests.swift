import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeActors

@Suite("Stock shards under a full mailbox")
struct ShardDeliveryTests {
    /// Shard mailboxes of one message: concurrent orders and cancels on a one-shard product
    /// keep them full, so new holds are refused (`overloaded`) — but the confirmations and
    /// releases of orders that did commit are never dropped: afterwards each shard's memory
    /// equals its row, with nothing left held. (With those outcomes sent through the bounded
    /// mailbox, as `tell` did, a full mailbox dropped them and memory drifted from the row.)
    @Test func confirmationsAndReleasesGetThroughFullShardMailboxes() async throws {
        try await TestServices.withSchema(poolSize: 8) { db, _ in
            try await Migrator(client: db).migrate([try RuntimeMigrations.set(), try DomainMigrations.set()])
            let writer = GroupCommit(client: db)
            let service = OrderService(
                db: db, groupCommit: writer,
                settings: .init(shardActors: .init(mailboxCapacity: 2, idleTimeout: .seconds(600))))
            try await withRunningServices([writer]) {
                let product = try await service.createProduct(sku: "HOT", name: "Hot", price: Money("1.00")!, initialStock: 100_000, shards: 1)
                // Each client retries a refused order, as one honouring Retry-After would.
                let outcomes = await withTaskGroup(of: (Int, Int).self) { group in
                    for n in 0..<300 {
                        group.addTask {
                            var refused = 0
                            for _ in 0..<200 {
                                do {
                                    let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1)]))
                                    if n % 2 == 0 { _ = try await service.cancel(orderID: order.id, by: .customer, reason: .user) }
                                    return (1, refused)
                                } catch let error as RuntimeError where error.code == .overloaded {
                                    refused += 1
                                    try? await Task.sleep(for: .milliseconds(1))
                                } catch {
                                    return (0, refused)
                                }
                            }
                            return (0, refused)
                        }
                    }
                    var created = 0
                    var refused = 0
                    for await (ok, overloaded) in group {
                        created += ok
                        refused += overloaded
                    }
                    return (created, refused)
                }
                #expect(outcomes.0 > 100)
                #expect(outcomes.1 > 0, "the mailboxes were full at times")
                let key = ShardKey(productID: product.id, shard: 0)
                try await waitUntil("the shard's mailbox is drained") { service.shards.mailboxDepth(of: key) == 0 }
                let memory = try await service.shards.send(.snapshot, to: key).state
                let row = try await db.query("SELECT available, reserved FROM stock_shards WHERE product_id = $1", [.uuid(product.id)])[0]
                #expect(memory.held == 0, "every hold was confirmed or returned")
                #expect(memory.available == (try row.decode("available", as: Int.self)))
                #expect(memory.reserved == (try row.decode("reserved", as: Int.self)))
                print("SHARDS full mailboxes: \(outcomes.0) orders created, \(outcomes.1) refused as overloaded")
            }
        }
    }
}
