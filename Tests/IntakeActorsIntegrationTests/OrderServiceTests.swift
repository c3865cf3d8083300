import Foundation
import IntakeActors
import IntakeRuntime
import IntakeTestSupport
import Testing

/// An OrderService on a fresh schema with the runtime's and the domain's tables, its
/// group-commit writer running.
func withOrderService<T>(
    paymentTTL: Duration = .seconds(900), ioTimeout: Duration = .seconds(60), _ body: (OrderService, PostgresClient) async throws -> T
) async throws -> T {
    try await withOrderService(settings: .init(paymentTTL: paymentTTL), ioTimeout: ioTimeout) { service, _, db in try await body(service, db) }
}

/// `withOrderService` with the service's settings given whole, and its writer for the body.
func withOrderService<T>(
    settings: OrderService.Settings, ioTimeout: Duration = .seconds(60), _ body: (OrderService, GroupCommit, PostgresClient) async throws -> T
) async throws -> T {
    try await TestServices.withSchema(poolSize: 8, ioTimeout: ioTimeout) { db, _ in
        try await Migrator(client: db).migrate([try RuntimeMigrations.set(), try DomainMigrations.set()])
        let writer = GroupCommit(client: db)
        let service = OrderService(db: db, groupCommit: writer, settings: settings)
        return try await withRunningServices([writer]) {
            try await body(service, writer, db)
        }
    }
}

func count(_ db: PostgresClient, _ sql: String, _ parameters: [PostgresValue] = []) async throws -> Int {
    try await db.query(sql, parameters)[0].decode(0, as: Int.self)
}

@discardableResult
func expectDomainError(_ code: DomainError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> DomainError? {
    do {
        try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DomainError {
        #expect(error.code == code, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite("Order service on real Postgres")
struct OrderServiceTests {
    /// Lists are newest first by id; `created_at` must agree, however concurrent the orders
    /// (each order's time was read after its id was made, and 1–2 ms inversions showed).
    @Test func concurrentOrdersByIdAreInCreationTimeOrder() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "SKU-T", name: "Timed", price: Money("1.00")!, initialStock: 1000, shards: 4)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<300 {
                    group.addTask { _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1)])) }
                }
                try await group.waitForAll()
            }
            let times = try await db.query("SELECT created_at FROM orders ORDER BY id").map { try $0.decode("created_at", as: Date.self) }
            #expect(times.count == 300)
            let inversions = zip(times, times.dropFirst()).filter { $0 > $1 }.count
            #expect(inversions == 0, "orders with a later id and an earlier created_at")
        }
    }

    @Test func creatingAnOrderReservesStockAndWritesOrderItemsAndEventTogether() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "SKU-1", name: "Widget", price: Money("1.55")!, initialStock: 10, shards: 4)
            let user = UUID()
            let order = try await service.createOrder(NewOrder(userID: user, lines: [.init(productID: product.id, quantity: 3)], region: "br", idempotencyKey: "k1"))
            #expect(order.status == .pending)
            #expect(order.amount == Money("4.65")!)
            #expect(order.expiresAt.timeIntervalSince(order.createdAt) == 900)
            let stock = try #require(try await service.product(product.id))
            #expect((stock.available, stock.reserved) == (7, 3))
            #expect(try await count(db, "SELECT sum(quantity)::int8 FROM order_items WHERE order_id = $1", [.uuid(order.id)]) == 3)
            #expect(try await count(db, "SELECT count(*) FROM orders WHERE id = $1 AND idempotency_key = 'k1'", [.uuid(order.id)]) == 1)
            #expect(try await count(db, "SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND event_type = 'com.example.order.created'", [.text(order.id.uuidString.lowercased())]) == 1)
            // Creation takes no mailbox (nothing can name a fresh order): the first command
            // activates the order from its row — the same order, times included (kept at
            // whole microseconds, as stored)...
            #expect(!service.orders.isActive(order.id))
            #expect(try await service.order(order.id) == order)
            #expect(service.orders.isActive(order.id))
            // ...and so does a fresh activation after passivation.
            await service.orders.collect(now: .now + .seconds(3600))
            #expect(!service.orders.isActive(order.id))
            #expect(try await service.order(order.id) == order)
        }
    }

    @Test func shortageReservesNothingAcrossEveryLine() async throws {
        try await withOrderService { service, db in
            let plenty = try await service.createProduct(sku: "A", name: "A", price: Money("1")!, initialStock: 100, shards: 2)
            let scarce = try await service.createProduct(sku: "B", name: "B", price: Money("1")!, initialStock: 3, shards: 3)
            let error = await expectDomainError(.insufficientStock) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [
                    .init(productID: plenty.id, quantity: 10), .init(productID: scarce.id, quantity: 4),
                ]))
            }
            #expect(error?.subject == scarce.id.uuidString.lowercased())
            #expect(try await service.product(plenty.id)?.available == 100)
            #expect(try await service.product(scarce.id)?.available == 3)
            #expect(try await count(db, "SELECT count(*) FROM orders") == 0)
            // Memory agrees: the full three units can still be taken, split over the shards.
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: scarce.id, quantity: 3)]))
            #expect(try await count(db, "SELECT count(*) FROM order_items WHERE order_id = $1", [.uuid(order.id)]) == 3)
        }
    }

    @Test func badRequestsAreRefused() async throws {
        try await withOrderService { service, _ in
            let product = try await service.createProduct(sku: "A", name: "A", price: Money("1")!, initialStock: 5, shards: 1)
            _ = await expectDomainError(.unknownProduct) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: UUID(), quantity: 1)]))
            }
            _ = await expectDomainError(.validation) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: []))
            }
            _ = await expectDomainError(.validation) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1001)]))
            }
            _ = await expectDomainError(.validation) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1), .init(productID: product.id, quantity: 1)]))
            }
            _ = await expectDomainError(.notFound) { _ = try await service.order(UUID()) }
        }
    }

    @Test func lifeCycleMovesStockAndRecordsAnEventPerChange() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "A", name: "A", price: Money("2.50")!, initialStock: 10, shards: 2)
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 2)]))
            _ = await expectDomainError(.amountMismatch) {
                _ = try await service.pay(orderID: order.id, paymentID: "p1", amount: Money("4.99")!, succeeded: true)
            }
            #expect(try await service.pay(orderID: order.id, paymentID: "p0", amount: order.amount, succeeded: false).status == .pending)
            #expect(try await service.pay(orderID: order.id, paymentID: "p1", amount: order.amount, succeeded: true).status == .paid)
            #expect(try await service.pay(orderID: order.id, paymentID: "p1", amount: order.amount, succeeded: true).status == .paid, "replayed payment: no second effect")
            _ = await expectDomainError(.invalidTransition) {
                _ = try await service.pay(orderID: order.id, paymentID: "p2", amount: order.amount, succeeded: true)
            }
            // Not PENDING any more: the state answers before the amount (API.md: 409).
            _ = await expectDomainError(.invalidTransition) {
                _ = try await service.pay(orderID: order.id, paymentID: "p3", amount: Money("4.99")!, succeeded: true)
            }
            _ = await expectDomainError(.forbidden) { _ = try await service.cancel(orderID: order.id, by: .customer, reason: .user) }
            #expect(try await service.ship(orderID: order.id).status == .shipped)
            #expect(try await service.deliver(orderID: order.id).status == .delivered)
            _ = await expectDomainError(.invalidTransition) { _ = try await service.cancel(orderID: order.id, by: .admin, reason: .admin) }
            let stock = try await db.query("SELECT sum(available)::int8 AS a, sum(reserved)::int8 AS r, sum(shipped)::int8 AS s FROM stock_shards")[0]
            #expect(try stock.decode("a", as: Int.self) == 8)
            #expect(try stock.decode("r", as: Int.self) == 0)
            #expect(try stock.decode("s", as: Int.self) == 2)
            let types = try await db.query("SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY id", [.text(order.id.uuidString.lowercased())])
                .map { try $0.decode("event_type", as: String.self) }
            #expect(types == ["com.example.order.created", "com.example.order.paid", "com.example.order.shipped", "com.example.order.delivered"])
        }
    }

    @Test func cancelingReturnsTheReservedUnits() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "A", name: "A", price: Money("1")!, initialStock: 5, shards: 2)
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 5)]))
            _ = await expectDomainError(.insufficientStock) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1)]))
            }
            #expect(try await service.cancel(orderID: order.id, by: .customer, reason: .user).status == .canceled)
            #expect(try await service.product(product.id)?.available == 5)
            // The returned units can be reserved again (memory agrees with the database).
            _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 5)]))
            let reason = try await db.query("SELECT event FROM outbox WHERE event_type = 'com.example.order.canceled'")[0].decode("event", as: String.self)
            #expect(reason.contains("\"reason\":\"user\""))
        }
    }
}

@Suite("Payment timeout through the work queue")
struct PaymentTimeoutTests {
    @Test func unpaidOrdersAreCanceledAndTheirStockReleasedPaidOnesStay() async throws {
        try await withOrderService(paymentTTL: .seconds(1)) { service, db in
            let product = try await service.createProduct(sku: "A", name: "A", price: Money("1")!, initialStock: 10, shards: 2)
            let unpaid = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 4)]))
            let paid = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 3)]))
            _ = try await service.pay(orderID: paid.id, paymentID: "p", amount: paid.amount, succeeded: true)
            let queue = WorkQueue(client: db, configuration: WorkQueueConfiguration(pollInterval: .milliseconds(100)))
            PaymentTimeoutSweep(service: service).register(on: queue)
            let scheduler = JobScheduler(client: db, jobs: [PaymentTimeoutSweep.periodicJob()], tickInterval: .milliseconds(100))
            try await withRunningServices([queue, scheduler]) {
                try await waitUntil("the unpaid order is canceled") {
                    try await service.order(unpaid.id).status == .canceled
                }
            }
            #expect(try await service.order(paid.id).status == .paid)
            let stock = try #require(try await service.product(product.id))
            #expect((stock.available, stock.reserved) == (7, 3))
            let event = try await db.query("SELECT event FROM outbox WHERE event_type = 'com.example.order.canceled'")[0].decode("event", as: String.self)
            #expect(event.contains("\"reason\":\"payment-timeout\""))
        }
    }
}

@Suite("Commits whose connection dies")
struct LostCommitTests {
    /// The writer gives up on the order's transaction (no answer within its I/O timeout)
    /// while the server is still running it and would commit it a moment later. The actor
    /// must not read "no order row" as "not committed" while that transaction lives: it ends
    /// the server process first, then asks. Without that, the order commits after the actor
    /// returned its holds, and the database and memory disagree.
    @Test func anOrderWhoseConnectionWasLostIsSettledBeforeItsOutcomeIsRead() async throws {
        try await withOrderService(ioTimeout: .seconds(5)) { service, db in
            let product = try await service.createProduct(sku: "L", name: "L", price: Money("1")!, initialStock: 5, shards: 1)
            let key = Int64.random(in: 1...Int64(Int32.max))
            // Order inserts take the advisory lock `key` (so the test can see the server
            // process) and then run for a minute, far past the client's 5 s I/O timeout (which
            // every statement of the test shares, so it is not shorter than a loaded machine's
            // slowest migration); settling the order ends that process early.
            try await db.query("""
                CREATE FUNCTION slow_order() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_advisory_xact_lock(\(key)); PERFORM pg_sleep(60); RETURN NULL; END $$
                """)
            try await db.query("CREATE TRIGGER slow BEFORE INSERT ON orders FOR EACH STATEMENT EXECUTE FUNCTION slow_order()")
            let writer = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::int8 << 32) | objid::int8) = \(key)"
            do {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 5)]))
                Issue.record("the order's transaction was ended; it cannot have been created")
            } catch let error as PostgresError {
                #expect(error.code == .connectionLost)
            }
            // Whatever the server process was going to do, it has done by now.
            try await waitUntil("the server process that ran the order is gone") { try await db.query(writer).isEmpty }
            #expect(try await count(db, "SELECT count(*) FROM orders") == 0, "the transaction did not commit behind the actor's back")
            try await db.query("DROP TRIGGER slow ON orders")
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 5)]))
            #expect(order.status == .pending, "the five held units were returned")
            #expect(try await count(db, "SELECT available FROM stock_shards WHERE product_id = $1", [.uuid(product.id)]) == 0)
        }
    }
}

@Suite("Inventory events of orders")
struct InventoryEventTests {
    /// Orders and cancels announce the product's new `available`, coalesced over a window
    /// (`InventoryUpdates`), and the newest event always carries the current level.
    @Test func reservationsEmitCoalescedInventoryEventsWhoseLastOneIsCurrent() async throws {
        try await withOrderService { service, db in
            let hot = try await service.createProduct(sku: "HOT", name: "Hot", price: Money("1")!, initialStock: 1000, shards: 4)
            let other = try await service.createProduct(sku: "OTHER", name: "Other", price: Money("1")!, initialStock: 1000, shards: 4)
            let began = ContinuousClock.now
            let orders = try await withThrowingTaskGroup(of: Order.self) { group in
                for n in 0..<300 {
                    group.addTask {
                        var lines = [NewOrder.Line(productID: hot.id, quantity: 1)]
                        if n % 3 == 0 { lines.append(.init(productID: other.id, quantity: 2)) }
                        return try await service.createOrder(NewOrder(userID: UUID(), lines: lines))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for order in orders.prefix(10) { _ = try await service.cancel(orderID: order.id, by: .customer, reason: .user) }
            // Coalesced: 300 orders give far fewer than 100 events a product, unless a slow
            // machine spread them over so many 100 ms windows that each may have its own.
            let windows = Int((ContinuousClock.now - began) / .milliseconds(100)) + 2
            for product in [hot, other] {
                let available = try #require(try await service.product(product.id)).available
                var events: [PostgresRow] = []
                try await waitUntil("the window's event carries the current level") {
                    events = Array(try await db.query(
                        "SELECT event FROM outbox WHERE event_type = 'com.example.inventory.updated' AND aggregate_id = $1 ORDER BY id",
                        [.text(product.id.uuidString.lowercased())]))
                    return (try events.last?.decode("event", as: String.self))?.contains("\"newStockLevel\":\(available)") == true
                }
                #expect(!events.isEmpty)
                #expect(events.count < max(100, 2 * windows), "coalesced: \(events.count) events in \(windows) windows")
                for row in events {
                    let text: String = try row.decode("event")
                    #expect(!text.contains("\"newStockLevel\":-1"), "every event got its level: \(text)")
                }
                let last: String = try events[events.count - 1].decode("event")
                #expect(last.contains("\"newStockLevel\":\(available)"), "\(last) vs \(available)")
                let event = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
                #expect(event["specversion"] as? String == "1.0")
                #expect(event["source"] as? String == "/intake/inventory")
                #expect(event["type"] as? String == "com.example.inventory.updated")
                #expect(event["subject"] as? String == product.id.uuidString.lowercased())
                #expect(event["datacontenttype"] as? String == "application/json")
                #expect((event["time"] as? String)?.hasSuffix("Z") == true)
                #expect(UUID(uuidString: event["id"] as? String ?? "") != nil)
                let data = try #require(event["data"] as? [String: Any])
                #expect(data["productId"] as? String == product.id.uuidString.lowercased())
                #expect(data["newStockLevel"] as? Int == available)
            }
        }
    }
}

extension InventoryEventTests {
    /// A change whose process stopped before its window closed is still announced: the stock
    /// move marked its shard (`level_changed`), and another process's pending-announcement job
    /// writes the product's event and clears the mark.
    @Test func aChangeItsProcessNeverAnnouncedIsAnnouncedByTheJob() async throws {
        try await TestServices.withSchema(poolSize: 8) { db, _ in
            try await Migrator(client: db).migrate([try RuntimeMigrations.set(), try DomainMigrations.set()])
            let writerA = GroupCommit(client: db), writerB = GroupCommit(client: db)
            // A's window outlasts the test: A announces nothing, as if it had been killed.
            let a = OrderService(db: db, groupCommit: writerA, settings: .init(inventoryUpdateWindow: .seconds(3600)))
            let b = OrderService(db: db, groupCommit: writerB)
            try await withRunningServices([writerA, writerB]) {
                let product = try await a.createProduct(sku: "MARK", name: "Mark", price: Money("1")!, initialStock: 10, shards: 2)
                let order = try await a.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 3)]))
                _ = try await a.cancel(orderID: order.id, by: .customer, reason: .user)
                _ = try await a.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 4)]))
                func levels() async throws -> [String] {
                    try await db.query(
                        "SELECT event FROM outbox WHERE event_type = 'com.example.inventory.updated' AND aggregate_id = $1 ORDER BY id",
                        [.text(product.id.lowercasedString)]
                    ).map { try $0.decode("event", as: String.self) }
                }
                #expect(try await levels().count == 1, "only the creation's event: A's window is still open")
                let marked = try await db.query("SELECT count(*)::int8 AS n FROM stock_shards WHERE product_id = $1 AND level_changed", [.uuid(product.id)])
                #expect(try marked[0].decode("n", as: Int.self) >= 1)
                #expect(try await b.inventoryUpdates.announcePending() == 1)
                #expect(try await levels().last?.contains("\"newStockLevel\":6") == true, "B announced A's change")
                let left = try await db.query("SELECT count(*)::int8 AS n FROM stock_shards WHERE level_changed")
                #expect(try left[0].decode("n", as: Int.self) == 0, "the event's transaction cleared the marks")
                #expect(try await b.inventoryUpdates.announcePending() == 0)
            }
        }
    }
}

extension InventoryEventTests {
    /// A restock's event carries the level its own transaction saw, but the relay publishes
    /// by transaction id, assigned at a transaction's first write: another process's
    /// coalesced event, read before the restock committed, could be published after it with
    /// the level before it (hostile review, session 9). So a restock's product is announced
    /// once more, from a transaction begun after the restock committed, and its mark is set
    /// in the restock's own transaction in case this process stops first.
    @Test func aRestockIsAnnouncedAgainAfterItCommits() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "AGAIN", name: "Again", price: Money("1")!, initialStock: 5, shards: 2)
            _ = try await service.restock(productID: product.id, delta: 7)
            var rows: [(txid: UInt64, event: String)] = []
            try await waitUntil("the restock's product is announced again") {
                rows = try await db.query(
                    "SELECT txid::text::int8 AS txid, event FROM outbox WHERE event_type = 'com.example.inventory.updated' AND aggregate_id = $1 ORDER BY id",
                    [.text(product.id.lowercasedString)]
                ).map { (UInt64(try $0.decode("txid", as: Int.self)), try $0.decode("event", as: String.self)) }
                return rows.count == 3
            }
            #expect(rows.map { $0.event.contains("\"newStockLevel\":12") } == [false, true, true], "\(rows.map(\.event))")
            #expect(rows[2].txid > rows[1].txid, "the second announcement comes from a later transaction")
            let marked = try await db.query("SELECT count(*)::int8 AS n FROM stock_shards WHERE product_id = $1 AND level_changed", [.uuid(product.id)])
            #expect(try marked[0].decode("n", as: Int.self) == 2, "marked until the pending-announcement job runs")
        }
    }
}

@Suite("Restock and write-off")
struct RestockTests {
    @Test func restockSpreadsOverShardsAndWriteOffNeverTakesHeldUnits() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "A", name: "A", price: Money("1")!, initialStock: 4, shards: 4)
            let restocked = try await service.restock(productID: product.id, delta: 10)
            #expect(restocked.available == 14)
            let perShard = try await db.query("SELECT available FROM stock_shards WHERE product_id = $1 ORDER BY shard", [.uuid(product.id)])
                .map { try $0.decode("available", as: Int.self) }
            #expect(perShard == [4, 4, 3, 3])
            // The product's creation announced its first level; the restock the new one (and,
            // once its window closes, again: `aRestockIsAnnouncedAgainAfterItCommits`).
            let levels = try await db.query("SELECT event FROM outbox WHERE event_type = 'com.example.inventory.updated' ORDER BY id")
                .map { try $0.decode("event", as: String.self) }
            #expect((2...3).contains(levels.count), "\(levels)")
            #expect(levels.first?.contains("\"newStockLevel\":4") == true, "\(levels)")
            #expect(levels.dropFirst().allSatisfy { $0.contains("\"newStockLevel\":14") }, "\(levels)")
            // An order holds 12 of the 14: a write-off of 3 must fail and take nothing.
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 12)]))
            _ = await expectDomainError(.insufficientStock) { _ = try await service.restock(productID: product.id, delta: -3) }
            #expect(try await service.product(product.id)?.available == 2)
            #expect(try await service.restock(productID: product.id, delta: -2).available == 0)
            // Memory agrees with the database: canceling returns the 12, all reservable again.
            _ = try await service.cancel(orderID: order.id, by: .admin, reason: .admin)
            _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 12)]))
            _ = await expectDomainError(.insufficientStock) {
                _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1)]))
            }
            _ = await expectDomainError(.notFound) { _ = try await service.restock(productID: UUID(), delta: 1) }
        }
    }
}

@Suite("Shard memory across passivation")
struct ShardPassivationTests {
    /// A shard passivated between an order's creation and its cancel is loaded again before
    /// the cancel commits, so the release is applied once, not on top of a fresh load that
    /// already contains it.
    @Test func changesCommittedAfterPassivationAreAppliedOnce() async throws {
        try await withOrderService { service, db in
            let product = try await service.createProduct(sku: "A", name: "A", price: Money("1")!, initialStock: 10, shards: 1)
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 4)]))
            _ = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 3)]))
            // The shard passivates once the confirms told to it after each commit are handled.
            try await passivateAll(service.shards)
            _ = try await service.cancel(orderID: order.id, by: .customer, reason: .user)
            try await passivateAll(service.shards)
            _ = try await service.restock(productID: product.id, delta: 2)
            let state = try await service.shards.send(.snapshot, to: ShardKey(productID: product.id, shard: 0)).state
            let row = try await db.query("SELECT available, reserved FROM stock_shards WHERE product_id = $1", [.uuid(product.id)])[0]
            #expect(state.available == (try row.decode("available", as: Int.self)))
            #expect(state.reserved == (try row.decode("reserved", as: Int.self)))
            #expect((state.available, state.reserved) == (9, 3))
        }
    }
}

/// Passivates every activation of `registry`, waiting for mailboxes still being drained.
func passivateAll<A: VirtualActor>(_ registry: ActorRegistry<A>) async throws {
    try await waitUntil("every activation is passivated") {
        await registry.collect(now: .now + .seconds(100_000))
        return registry.activeCount == 0
    }
}

/// API.md: a request whose key created an order before gets it back "without running
/// again". Whether it ran shows in the writer: a create that runs submits a write set (which
/// the order row's unique key then refuses), a replay submits nothing.
@Suite("Order service: keyed replays")
struct KeyedReplayTests {
    @Test func aReplayRunsNothing() async throws {
        // The inventory window's flush would be a transaction of its own: held off past the
        // test, so that every transaction counted is a create's.
        try await withOrderService(settings: .init(inventoryUpdateWindow: .seconds(3600))) { service, writer, _ in
            let product = try await service.createProduct(sku: "R", name: "R", price: Money("2.50")!, initialStock: 10, shards: 2)
            let request = NewOrder(
                userID: UUID(), lines: [.init(productID: product.id, quantity: 2)], idempotencyKey: "replay-1", requestHash: [1, 2, 3])
            let first = try await service.placeOrder(request)
            #expect(!first.replayed)
            let before = writer.transactionsCommitted
            let replay = try await service.placeOrder(request)
            #expect(replay.replayed && replay.order.id == first.order.id)
            #expect(writer.transactionsCommitted == before, "the replay sent a transaction: it ran again")
            var other = request
            other.requestHash = [9]
            await #expect(throws: DomainError.self) { _ = try await service.placeOrder(other) }
            #expect(writer.transactionsCommitted == before)
            #expect(try await service.product(product.id)?.available == 8, "the replays held nothing")
        }
    }

    /// A replay is answered as the first request was, so its products' cached reads are made
    /// stale before it too: the first request may be in another process that committed but
    /// has not yet done so (hostile review, session 15: stale product reads after replays
    /// across two servers).
    @Test func aReplayMakesItsProductsCachedReadsStaleBeforeItIsAnswered() async throws {
        try await withOrderService { service, _ in
            let product = try await service.createProduct(sku: "RC", name: "RC", price: Money("1")!, initialStock: 10, shards: 1)
            let request = NewOrder(
                userID: UUID(), lines: [.init(productID: product.id, quantity: 1)], idempotencyKey: "replay-cache", requestHash: [7])
            _ = try await service.placeOrder(request)
            let changes = Shared<[OrderService.Change]>([])
            service.onChange { change in changes.withLock { $0.append(change) } }
            let replay = try await service.placeOrder(request)
            #expect(replay.replayed)
            let seen = changes.withLock { $0 }
            #expect(seen.contains { $0.productIDs == [product.id] }, "the replay made its product stale: \(seen)")
        }
    }
}
