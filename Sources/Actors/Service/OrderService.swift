import Foundation
import IntakeRuntime
import Logging

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

        public init(
            paymentTTL: Duration = .seconds(900), eventTypePrefix: String = "com.example",
            orderActors: ActorRegistry<OrderActor>.Settings = .init(idleTimeout: .seconds(60)),
            shardActors: ActorRegistry<StockShardActor>.Settings = .init(mailboxCapacity: 100_000, idleTimeout: .seconds(600))
        ) {
            self.paymentTTL = paymentTTL
            self.eventTypePrefix = eventTypePrefix
            self.orderActors = orderActors
            self.shardActors = shardActors
        }
    }

    public let catalog: ProductCatalog
    public let history: OrderHistory
    public let orders: ActorRegistry<OrderActor>
    public let shards: ActorRegistry<StockShardActor>
    public let db: PostgresClient
    let groupCommit: GroupCommit
    let events: DomainEvents

    public init(db: PostgresClient, groupCommit: GroupCommit, settings: Settings = Settings(), logger: Logger = Logger(label: "intake.orders")) {
        self.db = db
        self.groupCommit = groupCommit
        catalog = ProductCatalog(db: db)
        history = OrderHistory(db: db)
        events = DomainEvents(typePrefix: settings.eventTypePrefix)
        shards = ActorRegistry(name: "stock-shards", context: .init(db: db), settings: settings.shardActors, logger: logger)
        orders = ActorRegistry(
            name: "orders",
            context: .init(
                db: db, groupCommit: groupCommit, shards: shards, catalog: catalog,
                events: DomainEvents(typePrefix: settings.eventTypePrefix), paymentTTL: settings.paymentTTL),
            settings: settings.orderActors, logger: logger)
    }

    /// The registries an `IdleCollector` should passivate.
    public var registries: [any PassivatingRegistry] { [orders, shards] }

    // MARK: Products

    public func createProduct(sku: String, name: String, price: Money, initialStock: Int, shards: Int) async throws -> Product {
        try await catalog.create(sku: sku, name: name, price: price, initialStock: initialStock, shards: shards)
    }

    public func product(_ id: UUID) async throws -> ProductStock? {
        try await catalog.stock(id)
    }

    // MARK: Orders

    /// Creates an order, reserving every line's stock or nothing.
    public func createOrder(_ request: NewOrder) async throws -> Order {
        let id = UUIDv7.make()
        let context = orders.context
        // A fresh time-ordered id has nothing to load: skip the activation's read.
        return try await orders.send(.create(request), to: id) { OrderActor(id: id, context: context, order: nil, allocations: []) }
    }

    public func order(_ id: UUID) async throws -> Order {
        try await orders.send(.get, to: id)
    }

    public func pay(orderID: UUID, paymentID: String, amount: Money, succeeded: Bool) async throws -> Order {
        try await orders.send(.pay(paymentID: paymentID, amount: amount, succeeded: succeeded), to: orderID)
    }

    public func cancel(orderID: UUID, by role: Role, reason: CancelReason) async throws -> Order {
        try await orders.send(.cancel(by: role, reason: reason), to: orderID)
    }

    public func ship(orderID: UUID) async throws -> Order {
        try await orders.send(.ship, to: orderID)
    }

    public func deliver(orderID: UUID) async throws -> Order {
        try await orders.send(.deliver, to: orderID)
    }
}
