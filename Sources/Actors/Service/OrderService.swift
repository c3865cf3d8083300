import Foundation
import IntakeRuntime
import Logging
import Synchronization

/// The order domain as a library: what the HTTP server calls, what the in-process load
/// benchmark drives, and what a gateway process embeds. Every order operation goes through
/// the order's actor; stock holds through the shards' actors; every write through the
/// group-commit writer (which the caller runs as a `Service`, with `idleCollector`).
public final class OrderService: Sendable {
    public struct Settings: Sendable {
        /// Unpaid PENDING orders expire after this.
        public var paymentTTL: Duration
        public var eventTypePrefix: String
        public var orderActors: ActorRegistry<OrderActor>.Settings
        public var shardActors: ActorRegistry<StockShardActor>.Settings
        /// The window over which orders' and cancellations' `inventory.updated` events are
        /// coalesced (`InventoryUpdates`).
        public var inventoryUpdateWindow: Duration

        public init(
            paymentTTL: Duration = .seconds(900), eventTypePrefix: String = "com.example",
            orderActors: ActorRegistry<OrderActor>.Settings = .init(idleTimeout: .seconds(60)),
            shardActors: ActorRegistry<StockShardActor>.Settings = .init(mailboxCapacity: 100_000, idleTimeout: .seconds(600)),
            inventoryUpdateWindow: Duration = .milliseconds(100)
        ) {
            self.paymentTTL = paymentTTL
            self.eventTypePrefix = eventTypePrefix
            self.orderActors = orderActors
            self.shardActors = shardActors
            self.inventoryUpdateWindow = inventoryUpdateWindow
        }
    }

    public let catalog: ProductCatalog
    public let history: OrderHistory
    public let orders: ActorRegistry<OrderActor>
    public let shards: ActorRegistry<StockShardActor>
    public let db: PostgresClient
    let groupCommit: GroupCommit
    let events: DomainEvents
    /// Orders' and cancellations' coalesced `inventory.updated` events; register its job
    /// (`InventoryUpdates.periodicJob`) on the work queue.
    public let inventoryUpdates: InventoryUpdates

    public init(db: PostgresClient, groupCommit: GroupCommit, settings: Settings = Settings(), logger: Logger = Logger(label: "intake.orders")) {
        self.db = db
        self.groupCommit = groupCommit
        catalog = ProductCatalog(db: db)
        history = OrderHistory(db: db)
        events = DomainEvents(typePrefix: settings.eventTypePrefix)
        shards = ActorRegistry(name: "stock-shards", context: .init(db: db), settings: settings.shardActors, logger: logger)
        inventoryUpdates = InventoryUpdates(groupCommit: groupCommit, db: db, events: events, interval: settings.inventoryUpdateWindow, logger: logger)
        orders = ActorRegistry(
            name: "orders",
            context: .init(
                db: db, groupCommit: groupCommit, shards: shards, catalog: catalog,
                events: events, paymentTTL: settings.paymentTTL, inventoryUpdates: inventoryUpdates),
            settings: settings.orderActors, logger: logger)
    }

    /// What a committed command changed: the order (if any) and the products whose stock
    /// moved. Observers (a cache) hear of it before the command's caller gets its answer.
    public struct Change: Sendable, Hashable {
        public var orderID: UUID?
        public var productIDs: [UUID]
        /// The order was created by this change: nothing read it before, so nothing holds a
        /// copy of an earlier state of it.
        public var orderCreated = false
    }

    private let observers = Mutex<[@Sendable (Change) async -> Void]>([])

    /// Calls `observer` after every committed change, before the changing call returns. It
    /// must not throw or take long: it delays every command.
    public func onChange(_ observer: @escaping @Sendable (Change) async -> Void) {
        observers.withLock { $0.append(observer) }
    }

    private func changed(order: UUID?, products: [UUID], created: Bool = false) async {
        let change = Change(orderID: order, productIDs: products, orderCreated: created)
        for observer in observers.withLock({ $0 }) { await observer(change) }
    }

    @discardableResult
    private func changed(_ order: Order, stockMoved: Bool, created: Bool = false) async -> Order {
        await changed(order: order.id, products: stockMoved ? order.items.map(\.productID) : [], created: created)
        return order
    }

    func stockChanged(_ productID: UUID) async {
        await changed(order: nil, products: [productID])
    }

    /// The registries an `IdleCollector` should passivate.
    public var registries: [any PassivatingRegistry] { [orders, shards] }

    // MARK: Products

    public func createProduct(sku: String, name: String, price: Money, initialStock: Int, shards: Int) async throws -> Product {
        // Its first stock level is announced like every later one (API.md: every state change
        // commits an event).
        try await catalog.create(sku: sku, name: name, price: price, initialStock: initialStock, shards: shards) { [events] id in
            [events.inventoryUpdated(productID: id, newStockLevel: initialStock)]
        }
    }

    public func product(_ id: UUID) async throws -> ProductStock? {
        try await catalog.stock(id)
    }

    // MARK: Orders

    /// Creates an order, reserving every line's stock or nothing.
    public func createOrder(_ request: NewOrder) async throws -> Order {
        if let caller = request.caller, caller.id != request.userID {
            guard caller.role == .admin else {
                throw DomainError(.forbidden, "only admins may create orders for another user", subject: "user_id")
            }
            // An order for someone else names a user who exists and was not erased.
            let live = try await db.query("SELECT 1 FROM users WHERE id = $1 AND erased_at IS NULL", [.uuid(request.userID)])
            guard !live.isEmpty else { throw DomainError(.validation, "no user \(request.userID.lowercasedString)", subject: "user_id") }
        }
        let order = try await OrderCreation(context: orders.context).create(id: UUIDv7.make(), request)
        return await changed(order, stockMoved: true, created: true)
    }

    /// An order placed, or the one this request's idempotency key created before.
    public struct PlacedOrder: Sendable, Hashable {
        public var order: Order
        /// The order was created by an earlier request with the same key and body: this is
        /// it as it was created, and nothing ran again.
        public var replayed: Bool
    }

    /// Creates an order — or, when its idempotency key already created one (in this process
    /// or another), returns that order as it was created if the request is the same
    /// (`requestHash`), and refuses with `idempotencyKeyReused` if not. The key's record is the
    /// order row itself, written in the order's own transaction. What a failed create
    /// replays is decided here, for HTTP, the in-process API and gateways alike.
    ///
    /// `keyUnused`: the caller has just read that no order holds the key (in a read of its
    /// own, with other checks), so the lookup before creating is skipped; a key taken since
    /// still meets the row's unique key.
    public func placeOrder(_ request: NewOrder, keyUnused: Bool = false) async throws -> PlacedOrder {
        // A key seen before is answered without running again (API.md): no validation, no
        // stock held even for a moment. Two first requests racing meet at the row's unique
        // key instead, below.
        if !keyUnused, let earlier = try await replay(request) { return earlier }
        do {
            return PlacedOrder(order: try await createOrder(request), replayed: false)
        } catch {
            guard let earlier = try await replay(request) else { throw error }
            return earlier
        }
    }

    /// The order this request's idempotency key created before, if any, as it was created;
    /// `idempotencyKeyReused` when that was another request.
    private func replay(_ request: NewOrder) async throws -> PlacedOrder? {
        guard let key = request.idempotencyKey,
            let earlier = try await history.created(scope: request.idempotencyScope, idempotencyKey: key)
        else { return nil }
        guard earlier.requestHash == request.requestHash else {
            throw DomainError(.idempotencyKeyReused, "this Idempotency-Key was used with a different request body", subject: key)
        }
        // A replay is answered as the first request was, read-your-writes included: the
        // request that created the order may run in another process that has committed but not
        // yet made its products' cached reads stale (hostile review, session 15: 14 of 1,600
        // replays across two servers were followed by a stale product read).
        await changed(earlier.order, stockMoved: true, created: true)
        return PlacedOrder(order: earlier.order, replayed: true)
    }

    public func order(_ id: UUID) async throws -> Order {
        try await orders.send(.get, to: id)
    }

    /// Applies a payment provider's notification; `paymentID` is 1..255 characters.
    public func pay(orderID: UUID, paymentID: String, amount: Money, succeeded: Bool) async throws -> Order {
        try FieldRules.text(paymentID, field: "payment_id", length: 1...255)
        return await changed(try await orders.send(.pay(paymentID: paymentID, amount: amount, succeeded: succeeded), to: orderID), stockMoved: false)
    }

    public func cancel(orderID: UUID, by role: Role, reason: CancelReason) async throws -> Order {
        await changed(try await orders.send(.cancel(by: role, reason: reason), to: orderID), stockMoved: true)
    }

    /// Cancels a PENDING order whose payment time is up (the payment-timeout sweep), decided
    /// by its actor on the state it holds then: a paid or not yet expired order is
    /// `invalidTransition` and stays as it is.
    public func expire(orderID: UUID) async throws -> Order {
        await changed(try await orders.send(.expire, to: orderID), stockMoved: true)
    }

    public func ship(orderID: UUID) async throws -> Order {
        await changed(try await orders.send(.ship, to: orderID), stockMoved: true)
    }

    public func deliver(orderID: UUID) async throws -> Order {
        await changed(try await orders.send(.deliver, to: orderID), stockMoved: false)
    }
}
