import Foundation
import IntakeRuntime
import Tracing

/// Creates an order without a mailbox round trip. An order's actor serializes the commands
/// that can race on one order; a creation has none to race with: its id is made here, fresh
/// and time-ordered, and nothing can name the order before the creation's answer does (the
/// payment sweep and any listing see it only once committed, and then load it from its row —
/// which is what an actor activated later does too). Idempotent retries meet at the order
/// row's unique key, not in memory.
///
/// Reserves every line's units (all or nothing) and commits the order with its items, stock
/// moves, events and idempotency key in one write set; the reservation protocol is
/// `Reservation`'s, the commit's outcome `WriteSubmitter`'s.
struct OrderCreation: Sendable {
    let context: OrderActor.Context

    func create(id: UUID, _ request: NewOrder) async throws -> Order {
        try await TraceContext.traced("order.create") { span in
            span?.attributes["intake.order.id"] = id.lowercasedString
            return try await createUntraced(id: id, request)
        }
    }

    private func createUntraced(id: UUID, _ request: NewOrder) async throws -> Order {
        try request.validate()
        var items: [OrderItem] = []
        var lines: [Reservation.Line] = []
        for line in request.lines {
            guard let product = try await context.catalog.product(line.productID) else {
                let productID = line.productID.lowercasedString
                throw DomainError(.unknownProduct, "no product \(productID)", subject: productID)
            }
            items.append(OrderItem(productID: product.id, quantity: line.quantity, unitPrice: product.price))
            lines.append(
                Reservation.Line(
                    productID: product.id, quantity: line.quantity,
                    shardOrder: ReservationPlan.shardOrder(orderID: id, shardCount: product.stockShards)))
        }
        // Items in the order every read of the order gives them (rows `ORDER BY product_id`,
        // Postgres's uuid order: its bytes, so its lowercase text): the 201, a replay of its
        // idempotency key, a GET and the events all list them alike (review, session 9: the
        // 201 kept the request's order, every later read sorted).
        if items.count > 1 { items.sort { $0.productID.lowercasedString < $1.productID.lowercasedString } }
        // The order's time is its id's (ids are made from the clock to 1/4096 ms): listed
        // newest first by id, orders are newest first by `created_at` too.
        let now = PostgresTimestamp.stored(UUIDv7.date(of: id) ?? Date())
        let order = Order(
            id: id, userID: request.userID, status: .pending, amount: try Order.amount(of: items), items: items, region: request.region,
            createdAt: now, updatedAt: now, expiresAt: now.addingTimeInterval(Double(context.paymentTTL.components.seconds)))
        do {
            let holds = try await ShardReserver(shards: context.shards, groupCommit: context.groupCommit).reserve(
                lines, confirmation: { .confirm($0, committedIn: $1) },
                shortage: { productID, _ in
                    let product = productID.lowercasedString
                    return DomainError(.insufficientStock, "not enough stock of product \(product)", subject: product)
                }
            ) { taken in
                await context.writer.submit(writeSet(creating: order, for: request, from: taken), landed: rowExists(id))
            }
            context.inventoryUpdates.changed(holds.map(\.productID))
        } catch let unknown as ShardReserver.OutcomeUnknown {
            // Whether the order exists is unknown; nothing in memory holds it, so nothing
            // needs reloading: whoever names it later loads it from its row, if any.
            throw unknown.underlying
        } catch let error as PostgresError where error.code == .uniqueViolation && error.constraint == "orders_idempotency" {
            throw DomainError(.duplicateRequest, "another order was created with this idempotency key", subject: request.idempotencyKey)
        }
        return order
    }

    private func writeSet(creating order: Order, for request: NewOrder, from taken: [OrderActor.Allocation]) -> WriteSet {
        var writeSet = WriteSet()
        writeSet.append(OrderQueries.orderRow(order, request: request), to: OrderQueries.insertOrder)
        for hold in taken {
            let price = order.items.first { $0.productID == hold.productID }?.unitPrice ?? .zero
            writeSet.append(OrderQueries.itemRow(order: order.id, hold: hold, unitPrice: price), to: OrderQueries.insertItem)
            writeSet.append(OrderQueries.stockMove(hold, reserve: hold.quantity), to: OrderQueries.moveStock)
        }
        OutboxQueries.append(context.events.orderCreated(order), to: &writeSet)
        return writeSet
    }

    private func rowExists(_ id: UUID) -> @Sendable () async throws -> Bool {
        { [db = context.db] in try await !db.query("SELECT 1 FROM orders WHERE id = $1", [.uuid(id)]).isEmpty }
    }
}
