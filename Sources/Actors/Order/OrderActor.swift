import Foundation
import IntakeRuntime

/// A request to create an order.
public struct NewOrder: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var productID: UUID
        public var quantity: Int
        public init(productID: UUID, quantity: Int) {
            self.productID = productID
            self.quantity = quantity
        }
    }

    /// Who asks for an order: its owner, or an admin ordering for a customer.
    public struct Caller: Sendable, Hashable {
        public var id: UUID
        public var role: Role
        public init(id: UUID, role: Role) {
            self.id = id
            self.role = role
        }
    }

    public var userID: UUID
    public var lines: [Line]
    public var region: String?
    /// The creating request's idempotency key and body hash, stored on the order row. The
    /// key is the caller's: unique per caller, not per owner.
    public var idempotencyKey: String?
    public var requestHash: [UInt8]?
    /// nil: the owner themselves.
    public var caller: Caller?

    public init(
        userID: UUID, lines: [Line], region: String? = nil, idempotencyKey: String? = nil, requestHash: [UInt8]? = nil,
        caller: Caller? = nil
    ) {
        self.userID = userID
        self.lines = lines
        self.region = region
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.caller = caller
    }

    /// Whose idempotency keys `idempotencyKey` is one of.
    public var idempotencyScope: UUID { caller?.id ?? userID }

    /// API.md's rules: only an admin orders for someone else; 1..100 lines, distinct
    /// products, quantities 1..1000; a region of 1..64 characters.
    func validate() throws(DomainError) {
        if let caller, caller.id != userID, caller.role != .admin {
            throw DomainError(.forbidden, "only admins may create orders for another user", subject: "user_id")
        }
        guard (1...100).contains(lines.count) else {
            throw DomainError(.validation, "an order has 1 to 100 items", subject: "items")
        }
        guard Set(lines.map(\.productID)).count == lines.count else {
            throw DomainError(.validation, "product ids must be distinct", subject: "items")
        }
        for (index, line) in lines.enumerated() where !(1...1000).contains(line.quantity) {
            throw DomainError(.validation, "quantity must be 1..1000", subject: "items[\(index)].quantity")
        }
        if let region { try FieldRules.text(region, field: "region", length: 1...64) }
    }
}

/// One order aggregate. Its messages run one at a time, including the awaits for stock holds
/// and for the commit, so a payment racing a cancel (or the payment-timeout sweep) sees the
/// other's result. Memory changes only after the write set committed.
public actor OrderActor: VirtualActor {
    public enum Message: Sendable {
        case create(NewOrder)
        case get
        case pay(paymentID: String, amount: Money, succeeded: Bool)
        case cancel(by: Role, reason: CancelReason)
        /// Cancels the order for its payment timeout if, when handled, it is still PENDING
        /// and past `expires_at`; `invalidTransition` otherwise.
        case expire
        case ship
        case deliver
    }

    /// Shared by every order activation.
    public struct Context: Sendable {
        public var db: PostgresClient
        public var groupCommit: GroupCommit
        public var shards: ActorRegistry<StockShardActor>
        public var catalog: ProductCatalog
        public var events: DomainEvents
        public var paymentTTL: Duration
    }

    /// Units of one product taken from one shard.
    struct Allocation: Sendable, Hashable {
        var productID: UUID
        var shard: Int
        var quantity: Int
        var key: ShardKey { ShardKey(productID: productID, shard: shard) }
    }

    let id: UUID
    let context: Context
    private var order: Order?
    private var allocations: [Allocation]
    /// Set when a commit's outcome stayed unknown: the next message reloads from the database.
    private var needsReload = false

    /// How long a command whose commit lost its connection keeps asking the database whether
    /// the commit landed before giving up (and answering `connectionLost`).
    static let outcomeWait: Duration = .seconds(15)

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

    /// How many times a command whose write found the order changed underneath it (by
    /// another process on the same database) reloads and decides again.
    static let staleRetries = 5

    public func handle(_ message: Message) async throws -> Order {
        var attempt = 0
        while true {
            if needsReload {
                (order, allocations) = try await Self.load(id, from: context.db)
                needsReload = false
            }
            do {
                return try await decide(message)
            } catch is StaleDecision where attempt < Self.staleRetries {
                attempt += 1
                needsReload = true
            } catch is StaleDecision {
                needsReload = true
                throw DomainError(.invalidTransition, "order \(id.uuidString.lowercased()) kept changing in another process; try again")
            }
        }
    }

    /// The order's row was not as this activation held it (another process changed it).
    struct StaleDecision: Error {}

    private func decide(_ message: Message) async throws -> Order {
        switch message {
        case .create(let request): return try await create(request)
        case .get: return try existing()
        case .pay(let paymentID, let amount, let succeeded): return try await pay(paymentID: paymentID, amount: amount, succeeded: succeeded)
        case .cancel(let role, let reason): return try await transition(.cancel(by: role, reason: reason))
        case .expire: return try await expire()
        case .ship: return try await transition(.ship)
        case .deliver: return try await transition(.deliver)
        }
    }

    private func existing() throws(DomainError) -> Order {
        guard let order else { throw DomainError(.notFound, "no order \(id.uuidString.lowercased())") }
        return order
    }

    // MARK: Create

    private func create(_ request: NewOrder) async throws -> Order {
        if let order { return order }
        try request.validate()
        var items: [OrderItem] = []
        var plans: [(Product, Int)] = []
        for line in request.lines {
            guard let product = try await context.catalog.product(line.productID) else {
                throw DomainError(.unknownProduct, "no product \(line.productID.uuidString.lowercased())", subject: line.productID.uuidString.lowercased())
            }
            plans.append((product, line.quantity))
            items.append(OrderItem(productID: product.id, quantity: line.quantity, unitPrice: product.price))
        }
        let amount = try Order.amount(of: items)
        let taken = try await hold(plans)
        let now = Date()
        let order = Order(
            id: id, userID: request.userID, status: .pending, amount: amount, items: items, region: request.region,
            createdAt: now, updatedAt: now, expiresAt: now.addingTimeInterval(Double(context.paymentTTL.components.seconds)))
        var writeSet = WriteSet()
        writeSet.append(
            [.uuid(id), .uuid(request.userID), .text(OrderStatus.pending.rawValue), .text(amount.description),
             .optionalText(request.region), .timestamptz(now), .timestamptz(now), .timestamptz(order.expiresAt),
             .optionalText(request.idempotencyKey), request.requestHash.map { .bytea($0) } ?? .null,
             request.idempotencyKey == nil ? .null : .uuid(request.idempotencyScope)],
            to: OrderQueries.insertOrder)
        for allocation in taken {
            let price = items.first { $0.productID == allocation.productID }?.unitPrice ?? .zero
            writeSet.append(
                [.uuid(id), .uuid(allocation.productID), .int32(Int32(allocation.shard)), .int32(Int32(allocation.quantity)),
                 .text(price.description)], to: OrderQueries.insertItem)
            writeSet.append(stockMove(allocation, reserve: allocation.quantity), to: OrderQueries.moveStock)
        }
        OrderQueries.append(context.events.orderCreated(order), to: &writeSet)
        OrderQueries.appendInventoryUpdates(taken.map(\.productID), events: context.events, to: &writeSet)
        let db = context.db
        switch await submit(writeSet, landed: { [id] in try await !db.query("SELECT 1 FROM orders WHERE id = $1", [.uuid(id)]).isEmpty }) {
        case .committed:
            break
        case .failed(let error):
            returnHolds(taken)
            if let error = error as? PostgresError, error.code == .uniqueViolation, error.constraint == "orders_idempotency" {
                throw DomainError(.duplicateRequest, "another order was created with this idempotency key", subject: request.idempotencyKey)
            }
            throw error
        case .unknown(let error):
            // Neither confirmed nor returned: the held units stay unavailable (and their
            // shards pinned) rather than risk selling them twice.
            needsReload = true
            throw error
        }
        for allocation in taken {
            context.shards.deliver(.confirm(allocation.quantity), to: allocation.key)
            context.shards.unpin(allocation.key)
        }
        self.order = order
        self.allocations = taken
        return order
    }

    /// Holds every line's units on its shards, in the order's shard order; all or nothing.
    /// Shards stay pinned from the hold until its outcome is applied: a shard holding units
    /// for an order in flight is never passivated. A shortage while other orders hold units
    /// on the short shards is not yet a shortage (their holds may come back, as when many
    /// orders each hold part of a product spread thin over many shards): every hold is
    /// returned and the order tries again after a random pause, up to `ShardContention`'s
    /// bound, before it answers `insufficientStock`.
    private func hold(_ plans: [(Product, Int)]) async throws -> [Allocation] {
        var contention = ShardContention()
        while true {
            var taken: [Allocation] = []
            var shortOf: Product?
            var contended = false
            do {
                for (product, quantity) in plans {
                    let order = ReservationPlan.shardOrder(orderID: id, shardCount: product.stockShards)
                    let got = try await context.shards.gather(quantity, of: product.id, in: order)
                    taken += got.holds.map { Allocation(productID: product.id, shard: $0.shard, quantity: $0.quantity) }
                    if got.holds.reduce(0, { $0 + $1.quantity }) < quantity {
                        shortOf = product
                        contended = got.contended
                        break
                    }
                }
            } catch {
                returnHolds(taken)
                throw error
            }
            guard let product = shortOf else { return taken }
            returnHolds(taken)
            guard contended, let pause = contention.nextPause() else {
                let productID = product.id.uuidString.lowercased()
                throw DomainError(.insufficientStock, "not enough stock of product \(productID)", subject: productID)
            }
            try await Task.sleep(for: pause)
        }
    }

    private func returnHolds(_ taken: [Allocation]) {
        for allocation in taken {
            context.shards.deliver(.releaseHold(allocation.quantity), to: allocation.key)
            context.shards.unpin(allocation.key)
        }
    }

    // MARK: Changes

    private func pay(paymentID: String, amount: Money, succeeded: Bool) async throws -> Order {
        let order = try existing()
        let applied = try await context.db.query("SELECT order_id FROM payments WHERE payment_id = $1", [.text(paymentID)])
        if !applied.isEmpty { return order }  // the provider retried a payment already applied
        guard succeeded else { return order }
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
            throw DomainError(.invalidTransition, "order \(id.uuidString.lowercased()) is \(order.status.rawValue), expiring at \(order.expiresAt): not expired")
        }
        return try await transition(.expire)
    }

    private func transition(_ transition: OrderTransition) async throws -> Order {
        var writeSet = WriteSet()
        return try await commit(transition, on: try existing(), with: &writeSet)
    }

    /// Applies `transition`, writes the status, the stock movement and the event in one write
    /// set, then — once committed — updates memory and the shards.
    private func commit(_ transition: OrderTransition, on order: Order, with writeSet: inout WriteSet) async throws -> Order {
        let (status, effect) = try order.status.applying(transition)
        var next = order
        next.status = status
        next.updatedAt = Date()
        writeSet.append(
            [.uuid(id), .text(status.rawValue), .timestamptz(next.updatedAt), .text(order.status.rawValue)], to: OrderQueries.updateStatus)
        for allocation in allocations {
            switch effect {
            case .release: writeSet.append(stockMove(allocation, release: allocation.quantity), to: OrderQueries.moveStock)
            case .consume: writeSet.append(stockMove(allocation, ship: allocation.quantity), to: OrderQueries.moveStock)
            case .none: break
            }
        }
        var reason: CancelReason?
        if case .cancel(_, let why) = transition { reason = why }
        if case .expire = transition { reason = .paymentTimeout }
        OrderQueries.append(context.events.orderStatusChanged(next, reason: reason), to: &writeSet)
        if effect == .release {
            OrderQueries.appendInventoryUpdates(allocations.map(\.productID), events: context.events, to: &writeSet)
        }
        let touched = effect == .none ? [] : allocations.map(\.key)
        try await context.shards.loadAndPin(touched)
        let db = context.db
        let landed: @Sendable () async throws -> Bool = { [id] in
            try await db.query("SELECT status FROM orders WHERE id = $1", [.uuid(id)]).first?.decode("status", as: String.self) == status.rawValue
        }
        switch await submit(writeSet, landed: landed) {
        case .committed:
            break
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
            case .release: context.shards.deliver(.release(allocation.quantity), to: allocation.key)
            case .consume: context.shards.deliver(.consume(allocation.quantity), to: allocation.key)
            case .none: break
            }
        }
        touched.forEach(context.shards.unpin)
        self.order = next
        return next
    }

    /// How a write set's commit ended.
    enum CommitOutcome {
        case committed
        case failed(any Error)
        /// The connection broke mid-commit and the database could not be asked in time.
        case unknown(any Error)
    }

    /// Submits `writeSet`. When the connection broke mid-commit (`connectionLost`), the
    /// commit may or may not have landed, and may still be running on the server: first ends
    /// that server process (`settle`), then asks the database (`landed`) — retrying while it is
    /// unreachable, for up to `outcomeWait` — so that memory follows what was committed.
    private func submit(_ writeSet: WriteSet, landed: @Sendable () async throws -> Bool) async -> CommitOutcome {
        do {
            try await context.groupCommit.submit(writeSet)
            return .committed
        } catch let error as PostgresError where error.code == .connectionLost {
            let deadline = ContinuousClock.now + Self.outcomeWait
            var settled = error.backendPID == nil
            repeat {
                do {
                    if !settled, let pid = error.backendPID {
                        try await context.db.settle(backendPID: pid)
                        settled = true
                    }
                    return try await landed() ? .committed : .failed(error)
                } catch {
                    try? await Task.sleep(for: .milliseconds(200))
                }
            } while ContinuousClock.now < deadline
            return .unknown(error)
        } catch {
            return .failed(error)
        }
    }

    private func stockMove(_ allocation: Allocation, reserve: Int = 0, release: Int = 0, ship: Int = 0) -> [PostgresValue] {
        [.uuid(allocation.productID), .int32(Int32(allocation.shard)), .int32(Int32(reserve)), .int32(Int32(release)), .int32(Int32(ship))]
    }

    // MARK: Loading

    static func load(_ id: UUID, from db: PostgresClient) async throws -> (Order?, [Allocation]) {
        let results = try await db.pipeline([
            PostgresStatement(OrderQueries.selectOrder, [.uuid(id)]), PostgresStatement(OrderQueries.selectItems, [.uuid(id)]),
        ])
        guard let row = results[0].first else { return (nil, []) }
        var allocations: [Allocation] = []
        var items: [OrderItem] = []
        for itemRow in results[1] {
            let allocation = Allocation(productID: try itemRow.decode("product_id"), shard: try itemRow.decode("shard"), quantity: try itemRow.decode("quantity"))
            allocations.append(allocation)
            if let index = items.firstIndex(where: { $0.productID == allocation.productID }) {
                items[index].quantity += allocation.quantity
            } else {
                items.append(OrderItem(productID: allocation.productID, quantity: allocation.quantity, unitPrice: try itemRow.decodeMoney("unit_price")))
            }
        }
        return (try OrderQueries.decodeOrder(row, items: items), allocations)
    }
}
