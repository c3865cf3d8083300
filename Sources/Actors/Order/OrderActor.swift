import Foundation
import IntakeRuntime
import Tracing

/// One order aggregate: its decisions. Its messages run one at a time, including the awaits
/// for stock holds and for the commit, so a payment racing a cancel (or the payment-timeout
/// sweep) sees the other's result; every decision is made on the state it holds when the
/// message is handled, and every status write states the status it was decided on, so a
/// change made meanwhile by another process makes it reload and decide again. Memory changes
/// only after the write set committed. The reservation protocol is `Reservation`'s, the
/// commit's outcome `WriteSubmitter`'s, the SQL `OrderQueries`'.
public actor OrderActor: VirtualActor {
    public enum Message: Sendable {
        case get
        case pay(paymentID: String, amount: Money, succeeded: Bool)
        case cancel(by: Role, reason: CancelReason)
        /// Cancels the order for its payment timeout if, when handled, it is still PENDING
        /// and past `expires_at`; `invalidTransition` otherwise.
        case expire
        case ship
        case deliver

        /// The span of its handling: `order.create`, `order.pay`, ...
        var spanName: String {
            switch self {
            case .get: "order.get"
            case .pay: "order.pay"
            case .cancel: "order.cancel"
            case .expire: "order.expire"
            case .ship: "order.ship"
            case .deliver: "order.deliver"
            }
        }
    }

    /// Shared by every order activation.
    public struct Context: Sendable {
        public var db: PostgresClient
        public var groupCommit: GroupCommit
        public var shards: ActorRegistry<StockShardActor>
        public var catalog: ProductCatalog
        public var events: DomainEvents
        public var paymentTTL: Duration
        public var inventoryUpdates: InventoryUpdates

        var writer: WriteSubmitter { WriteSubmitter(groupCommit: groupCommit, db: db) }
    }

    /// Units of one product taken from one shard, as the order's items record them.
    typealias Allocation = Reservation.Hold

    let id: UUID
    let context: Context
    private var order: Order?
    private var allocations: [Allocation]
    /// Set when a commit's outcome stayed unknown, or the row changed underneath: the next
    /// decision reloads from the database first.
    private var needsReload = false
    /// The order was read from the database for the message being handled (the activation's
    /// own load): a read need not read it again.
    private var loadedForThisMessage = true

    /// How many times a command whose write found the order changed underneath it (by
    /// another process on the same database) reloads and decides again.
    static let staleRetries = 5

    init(id: UUID, context: Context, order: Order?, allocations: [Allocation]) {
        self.id = id
        self.context = context
        self.order = order
        self.allocations = allocations
    }

    public static func activate(key: UUID, context: Context) async throws -> OrderActor {
        let (order, allocations) = try await OrderActor.load(key, from: context.db)
        return OrderActor(id: key, context: context, order: order, allocations: allocations)
    }

    public func handle(_ message: Message) async throws -> Order {
        try await TraceContext.traced(message.spanName) { span in
            span?.attributes["intake.order.id"] = id.lowercasedString
            return try await handleUntraced(message)
        }
    }

    private func handleUntraced(_ message: Message) async throws -> Order {
        defer { loadedForThisMessage = false }
        var attempt = 0
        while true {
            if needsReload {
                (order, allocations) = try await Self.load(id, from: context.db)
                needsReload = false
                loadedForThisMessage = true
            }
            do {
                return try await decide(message)
            } catch is StaleDecision where attempt < Self.staleRetries {
                attempt += 1
                needsReload = true
            } catch is StaleDecision {
                needsReload = true
                throw DomainError(.invalidTransition, "order \(id.lowercasedString) kept changing in another process; try again")
            }
        }
    }

    /// The order's row was not as this activation held it (another process changed it).
    struct StaleDecision: Error {}

    private func decide(_ message: Message) async throws -> Order {
        switch message {
        case .get:
            // Another process may have changed the order since this activation read it; a
            // read answers what the database holds, and a stale copy never refills the cache.
            try await reload()
            return try existing()
        case .pay(let paymentID, let amount, let succeeded): return try await pay(paymentID: paymentID, amount: amount, succeeded: succeeded)
        case .cancel(let role, let reason): return try await transition(.cancel(by: role, reason: reason))
        case .expire: return try await expire()
        case .ship: return try await transition(.ship)
        case .deliver: return try await transition(.deliver)
        }
    }

    private func reload() async throws {
        guard !loadedForThisMessage else { return }
        (order, allocations) = try await Self.load(id, from: context.db)
        needsReload = false
        loadedForThisMessage = true
    }

    private func existing() throws(DomainError) -> Order {
        guard let order else { throw DomainError(.notFound, "no order \(id.lowercasedString)") }
        return order
    }

    // MARK: Changes

    private func pay(paymentID: String, amount: Money, succeeded: Bool) async throws -> Order {
        // A payment's answer may involve no write (a `failed` payment, an amount that does not
        // match): it is decided on the order as the database holds it now, not on a copy
        // another process may have overtaken.
        try await reload()
        let applied = try await context.db.query("SELECT order_id FROM payments WHERE payment_id = $1", [.text(paymentID)])
        // The order as this actor holds it once the reads are back: the decision below is
        // made on that state, not on one read before the await.
        let order = try existing()
        if !applied.isEmpty { return order }  // the provider retried a payment already applied
        guard succeeded else { return order }
        // The state first (API.md: a `succeeded` for an order that is not PENDING is
        // `409 invalid-transition`, whatever its amount), then the amount.
        _ = try order.status.applying(.pay)
        guard amount == order.amount else {
            throw DomainError(.amountMismatch, "payment of \(amount) for an order of \(order.amount)", subject: "amount")
        }
        var writeSet = WriteSet([
            PostgresStatement(OrderQueries.insertPayment, [.text(paymentID), .uuid(id), .numeric(amount.decimal), "succeeded"]),
        ])
        return try await commit(.pay, on: order, with: &writeSet)
    }

    private func expire() async throws -> Order {
        let order = try existing()
        guard order.status == .pending, order.expiresAt <= Date() else {
            throw DomainError(
                .invalidTransition, "order \(id.lowercasedString) is \(order.status.rawValue), expiring at \(order.expiresAt): not expired")
        }
        return try await transition(.expire)
    }

    private func transition(_ transition: OrderTransition) async throws -> Order {
        var writeSet = WriteSet()
        return try await commit(transition, on: try existing(), with: &writeSet)
    }

    /// Applies `transition`, writes the status (from the status it was decided on), the stock
    /// movement and the event in one write set, then — once committed — updates memory and
    /// the shards.
    private func commit(_ transition: OrderTransition, on order: Order, with writeSet: inout WriteSet) async throws -> Order {
        let (status, effect) = try order.status.applying(transition)
        var next = order
        next.status = status
        next.updatedAt = PostgresTimestamp.stored(Date())
        writeSet.append(OrderQueries.statusRow(next, decidedOn: order.status), to: OrderQueries.updateStatus)
        for allocation in allocations {
            switch effect {
            case .release: writeSet.append(OrderQueries.stockMove(allocation, release: allocation.quantity), to: OrderQueries.moveStock)
            case .consume: writeSet.append(OrderQueries.stockMove(allocation, ship: allocation.quantity), to: OrderQueries.moveStock)
            case .none: break
            }
        }
        OutboxQueries.append(context.events.orderStatusChanged(next, reason: transition.cancelReason), to: &writeSet)
        let touched = effect == .none ? [] : allocations.map(\.key)
        try await context.shards.loadAndPin(touched)
        let db = context.db
        let landed: @Sendable () async throws -> Bool = { [id] in
            try await db.query("SELECT status FROM orders WHERE id = $1", [.uuid(id)]).first?.decode("status", as: String.self) == status.rawValue
        }
        let transaction: Int?
        switch await context.writer.submit(writeSet, landed: landed) {
        case .committed(let committedIn):
            transaction = committedIn
        case .failed(let error):
            touched.forEach(context.shards.unpin)
            if let error = error as? PostgresError,
                error.sqlState == OrderQueries.expectationFailed || (error.code == .uniqueViolation && error.constraint == "payments_pkey")
            {
                // Decided on a state another process has changed since (the order's status, or
                // the same payment applied there): reload and decide again.
                throw StaleDecision()
            }
            throw error
        case .unknown(let error):
            // Unpinned, the shards may passivate and reload what the database has; this
            // order reloads before its next message.
            touched.forEach(context.shards.unpin)
            needsReload = true
            throw error
        }
        for allocation in allocations {
            switch effect {
            case .release: context.shards.deliver(.release(allocation.quantity, committedIn: transaction), to: allocation.key)
            case .consume: context.shards.deliver(.consume(allocation.quantity, committedIn: transaction), to: allocation.key)
            case .none: break
            }
        }
        touched.forEach(context.shards.unpin)
        if effect == .release { context.inventoryUpdates.changed(allocations.map(\.productID)) }
        self.order = next
        return next
    }
}
