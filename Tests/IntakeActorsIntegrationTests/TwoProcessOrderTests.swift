import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeActors

/// Two `OrderService`s on one database — two `intake serve` processes, as DESIGN.md allows —
/// each with actors of its own that both hold the same order. Every status write states the
/// status it was decided on, so of a payment in one and a cancel in the other exactly one
/// commits; the other reloads, decides again on what it finds, and refuses.
@Suite("Two processes on one database")
struct TwoProcessOrderTests {
    /// Two order services — two processes — with writers of their own on one fresh schema.
    func withTwoProcesses(_ body: (OrderService, OrderService, PostgresClient) async throws -> Void) async throws {
        try await TestServices.withSchema(poolSize: 12) { db, _ in
            try await Migrator(client: db).migrate([try RuntimeMigrations.set(), try DomainMigrations.set()])
            let writerA = GroupCommit(client: db)
            let writerB = GroupCommit(client: db)
            let a = OrderService(db: db, groupCommit: writerA)
            let b = OrderService(db: db, groupCommit: writerB)
            try await withRunningServices([writerA, writerB]) { try await body(a, b, db) }
        }
    }

    /// An order the other process changed reads as changed here at once, and a payment whose
    /// answer writes nothing is decided on the row too (hostile review, session 13: an order
    /// B shipped read PENDING on A for as long as A's activation lived — and refilled the
    /// shared cache with it —, and a mismatched payment sent to A for an order B had canceled
    /// answered `amount-mismatch` instead of `invalid-transition`).
    @Test func anOrderTheOtherProcessChangedReadsChangedHere() async throws {
        try await withTwoProcesses { a, b, _ in
            let product = try await a.createProduct(sku: "READ", name: "Read", price: Money("2.00")!, initialStock: 10, shards: 1)
            func order() async throws -> Order {
                try await b.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1)]))
            }
            let shipped = try await order()
            #expect(try await a.order(shipped.id).status == .pending)  // A holds it now
            _ = try await b.pay(orderID: shipped.id, paymentID: "pay-\(shipped.id)", amount: Money("2.00")!, succeeded: true)
            _ = try await b.ship(orderID: shipped.id)
            #expect(try await a.order(shipped.id).status == .shipped)

            let canceled = try await order()
            #expect(try await a.order(canceled.id).status == .pending)
            _ = try await b.cancel(orderID: canceled.id, by: .customer, reason: .user)
            await expectDomainError(.invalidTransition) {
                _ = try await a.pay(orderID: canceled.id, paymentID: "late-\(canceled.id)", amount: Money("9.99")!, succeeded: true)
            }
            #expect(try await a.pay(orderID: canceled.id, paymentID: "failed-\(canceled.id)", amount: Money("2.00")!, succeeded: false).status == .canceled)
        }
    }

    /// Each process keeps its own copy of a shard's stock. When the other process took units
    /// this copy still counts, the write is refused by the row's check — the order must then
    /// be decided again on the row (201 or 409), never fail as a 500 (hostile review, session
    /// 8: 466 of 576 orders across two instances were 500s).
    @Test func aCopyOvertakenByTheOtherProcessIsDecidedAgainOnTheRow() async throws {
        try await withTwoProcesses { a, b, db in
            let product = try await a.createProduct(sku: "SHARED", name: "Shared", price: Money("1.00")!, initialStock: 10, shards: 1)
            func order(_ service: OrderService, _ quantity: Int) async throws -> Order {
                try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: quantity)]))
            }
            _ = try await order(a, 1)  // A's copy: 9 available
            _ = try await order(b, 8)  // B's copy (loaded from the row): 9 → 1
            // A still counts 9: its write is refused by the row, read back, decided again.
            await expectDomainError(.insufficientStock) { _ = try await order(a, 2) }
            #expect(try await order(a, 1).status == .pending, "the last unit is A's to sell")
            await expectDomainError(.insufficientStock) { _ = try await order(a, 1) }
            let row = try await db.query("SELECT sum(available) AS available, sum(reserved) AS reserved FROM stock_shards WHERE product_id = $1", [.uuid(product.id)])[0]
            #expect(try row.decode("available", as: Int.self) == 0)
            #expect(try row.decode("reserved", as: Int.self) == 10)
        }
    }

    /// Units the other process added — a restock, a cancellation — are sold here at once: a
    /// shortage by this copy is decided on the rows, read back in order with this process's
    /// own commits (hostile review, session 8: stock restocked on B was refused on A until
    /// A's shards passivated, minutes later).
    @Test func unitsTheOtherProcessAddedAreSoldHere() async throws {
        try await withTwoProcesses { a, b, db in
            let product = try await a.createProduct(sku: "ADDED", name: "Added", price: Money("1.00")!, initialStock: 2, shards: 1)
            func order(_ service: OrderService, _ quantity: Int) async throws -> Order {
                try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: quantity)]))
            }
            let first = try await order(a, 2)  // A's copy: 0 available
            _ = try await b.restock(productID: product.id, delta: 3)
            #expect(try await order(a, 3).status == .pending, "B's restock sells on A")
            _ = try await b.cancel(orderID: first.id, by: .customer, reason: .user)
            #expect(try await order(a, 2).status == .pending, "units B's cancellation released sell on A")
            await expectDomainError(.insufficientStock) { _ = try await order(a, 1) }
            let key = ShardKey(productID: product.id, shard: 0)
            let copy = try await a.shards.send(.snapshot, to: key).state
            let row = try await db.query("SELECT available, reserved FROM stock_shards WHERE product_id = $1", [.uuid(product.id)])[0]
            #expect(copy.available == Int(try row.decode("available", as: Int32.self)) && copy.held == 0)
            #expect(copy.reserved == Int(try row.decode("reserved", as: Int32.self)))
        }
    }

    /// Two processes selling the last units of many-shard products while each gives units
    /// back (cancellations): every order is reserved (201), refused as short (409) or, when the
    /// other process keeps taking the units first, refused as overloaded (503) — never the
    /// row check's error (hostile review, session 12: a 500 about one order in 38,000 in
    /// this mix over HTTP). Stock is conserved throughout. Without the rows deciding after the
    /// retries, one run in four failed here with the check violation.
    @Test func contendedLastUnitsAcrossProcessesAreNever500() async throws {
        try await withTwoProcesses { a, b, db in
            var created: [UUID] = []
            for index in 0..<3 {
                created.append(try await a.createProduct(sku: "LAST-\(index)", name: "Last", price: Money("1.00")!, initialStock: 60, shards: 64).id)
            }
            let products = created
            let unexpected = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<32 {
                    group.addTask {
                        var generator = SystemRandomNumberGenerator()
                        var errors: [String] = []
                        for _ in 0..<40 {
                            let (here, there) = (worker + Int.random(in: 0...1, using: &generator)) % 2 == 0 ? (a, b) : (b, a)
                            let lines = products.shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator))
                                .map { NewOrder.Line(productID: $0, quantity: Int.random(in: 1...5, using: &generator)) }
                            do {
                                let order = try await here.createOrder(NewOrder(userID: UUID(), lines: lines))
                                if Bool.random(using: &generator) { _ = try await there.cancel(orderID: order.id, by: .customer, reason: .user) }
                            } catch let error as DomainError where error.code == .insufficientStock {
                            } catch let error as RuntimeError where error.code == .overloaded {
                            } catch {
                                errors.append("\(error)")
                            }
                        }
                        return errors
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(unexpected.isEmpty, "\(unexpected.prefix(3))")
            for product in products {
                let stock = try await db.query(
                    "SELECT sum(available)::int8 AS a, sum(reserved)::int8 AS r, min(available) AS low FROM stock_shards WHERE product_id = $1", [.uuid(product)])[0]
                #expect(try stock.decode("a", as: Int.self) + stock.decode("r", as: Int.self) == 60)
                #expect(try stock.decode("low", as: Int32.self) >= 0)
            }
        }
    }

    @Test func payInOneProcessAndCancelInAnotherNeverBothWin() async throws {
        try await withTwoProcesses { a, b, db in
            let product = try await a.createProduct(sku: "TWO", name: "Two", price: Money("3.00")!, initialStock: 1_000, shards: 2)
            var paidWins = 0
            var cancelWins = 0
            for round in 0..<40 {
                let order = try await a.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 2)]))
                // Both processes hold the order in memory (PENDING) before the race.
                #expect(try await b.order(order.id).status == .pending)
                async let paid = outcome { try await a.pay(orderID: order.id, paymentID: "p-\(round)", amount: order.amount, succeeded: true) }
                async let canceled = outcome { try await b.cancel(orderID: order.id, by: .customer, reason: .user) }
                let (payment, cancel) = await (paid, canceled)
                let final = try await db.query("SELECT status FROM orders WHERE id = $1", [.uuid(order.id)])[0].decode("status", as: String.self)
                switch (payment, cancel) {
                case (.success(let p), .failure):
                    #expect(p.status == .paid && final == "PAID", "round \(round)")
                    paidWins += 1
                case (.failure, .success(let c)):
                    #expect(c.status == .canceled && final == "CANCELED", "round \(round)")
                    cancelWins += 1
                case (.success, .success):
                    Issue.record("round \(round): both the payment and the cancel succeeded (final \(final))")
                case (.failure(let p), .failure(let c)):
                    Issue.record("round \(round): neither succeeded: \(p) / \(c)")
                }
                let events = try await db.query(
                    "SELECT event_type FROM outbox WHERE aggregate_id = $1 AND event_type <> 'com.example.order.created' ORDER BY id",
                    [.text(order.id.uuidString.lowercased())]
                ).map { try $0.decode("event_type", as: String.self) }
                #expect(events == [final == "PAID" ? "com.example.order.paid" : "com.example.order.canceled"], "round \(round): \(events)")
                #expect(try await count(db, "SELECT count(*) FROM payments WHERE order_id = $1", [.uuid(order.id)]) == (final == "PAID" ? 1 : 0))
            }
            let stock = try await db.query(
                "SELECT sum(available)::int8 AS a, sum(reserved)::int8 AS r, sum(shipped)::int8 AS s FROM stock_shards WHERE product_id = $1",
                [.uuid(product.id)])[0]
            let reserved = try await count(
                db, "SELECT COALESCE(sum(i.quantity), 0)::int8 FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status IN ('PENDING', 'PAID')")
            #expect(try stock.decode("a", as: Int.self) + stock.decode("r", as: Int.self) + stock.decode("s", as: Int.self) == 1_000)
            #expect(try stock.decode("r", as: Int.self) == reserved)
            print("TWO PROCESSES: payment won \(paidWins), cancel won \(cancelWins) of 40 races")
        }
    }
}

func outcome(_ body: () async throws -> Order) async -> Result<Order, any Error> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}
