import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeActors

@Suite("Payment timeout against a payment")
struct PaymentTimeoutRaceTests {
    /// The sweep reads the expired PENDING orders, then — before it messages them — the
    /// payment lands. The order's actor decides on the state it holds when the sweep's
    /// message arrives: the order is PAID, so it stays PAID, keeps its stock and publishes
    /// no `order.canceled`. (With the sweep sending an admin's `cancel`, which an admin may
    /// do to a PAID order, the paid order was canceled.)
    @Test func aPaymentBetweenTheSweepsReadAndItsMessageKeepsTheOrderPaid() async throws {
        try await withOrderService(paymentTTL: .zero) { service, db in
            let product = try await service.createProduct(sku: "R", name: "R", price: Money("2.00")!, initialStock: 10, shards: 2)
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 4)]))
            let sweep = PaymentTimeoutSweep(service: service)
            // The sweep's read, as it happens at the start of a run.
            let expired = try await db.query(OrderQueries.expiredOrders, [.int32(100)]).map { try $0.decode("id", as: UUID.self) }
            #expect(expired == [order.id])
            // The payment lands in between.
            #expect(try await service.pay(orderID: order.id, paymentID: "p-1", amount: order.amount, succeeded: true).status == .paid)
            // The sweep goes on with what it read.
            #expect(await sweep.expire(expired) == 0)
            #expect(try await service.order(order.id).status == .paid)
            #expect(try await count(db, "SELECT count(*) FROM outbox WHERE event_type = 'com.example.order.canceled'") == 0)
            let stock = try #require(try await service.product(product.id))
            #expect((stock.available, stock.reserved) == (6, 4))
            #expect(try await sweep.sweepOnce() == 0, "a paid order is not expired on the next run either")
        }
    }

    /// `expire` is the order's own decision on its own clock: an order whose time is not up
    /// is left PENDING, whoever sends it.
    @Test func anOrderIsExpiredOnlyOncePastItsTimeAndOnlyFromPending() async throws {
        try await withOrderService(paymentTTL: .seconds(900)) { service, db in
            let product = try await service.createProduct(sku: "E", name: "E", price: Money("1.00")!, initialStock: 5, shards: 1)
            let order = try await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 1)]))
            _ = await expectDomainError(.invalidTransition) { _ = try await service.expire(orderID: order.id) }
            #expect(try await service.order(order.id).status == .pending)
            #expect(await PaymentTimeoutSweep(service: service).expire([order.id]) == 0)
            _ = try await service.cancel(orderID: order.id, by: .customer, reason: .user)
            _ = await expectDomainError(.invalidTransition) { _ = try await service.expire(orderID: order.id) }
            #expect(try await count(db, "SELECT count(*) FROM outbox WHERE event_type = 'com.example.order.canceled'") == 1)
        }
    }
}
