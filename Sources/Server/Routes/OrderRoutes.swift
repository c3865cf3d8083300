import Foundation
import HTTPTypes
import Hummingbird
import IntakeActors

/// `/v1/orders`: creation (with idempotency), reads, and the status changes.
struct OrderRoutes<Context: IntakeContext> {
    let orders: OrderService
    let reads: CachedReads
    let idempotency: IdempotentRequests

    func add(to group: RouterGroup<Context>) {
        group.post("orders", use: create)
        group.get("orders", use: list)
        group.get("orders/{id}", use: show)
        group.post("orders/{id}/cancel", use: cancel)
        group.post("orders/{id}/ship", use: ship)
        group.post("orders/{id}/deliver", use: deliver)
    }

    /// The idempotency record of an order is its own row (key and body hash, written in the
    /// order's transaction), so the first attempt runs optimistically; only when it fails
    /// is the key looked up (`OrderService.placeOrder`) — a retry of a request that already
    /// succeeded fails there (its key is taken, or its stock is gone) and is answered with
    /// the original response. A second request with the key while the first runs in this
    /// process is `409 idempotency-key-in-use`.
    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let key = try IdempotencyKey.from(request.headers)
        let bytes = try await JSONBody.bytes(of: request)
        let body = try JSONBody.decode(CreateOrderRequest.self, from: bytes)
        // What "the same request" means is one rule for every keyed POST (API.md: the same
        // JSON value): unknown fields, null and absent, ids' letter case all count.
        let hash = key.map { _ in IdempotencyKey.requestHash(path: request.uri.path, body: Array(buffer: bytes)) }
        let newOrder = NewOrder(
            userID: body.userID?.uuid ?? principal.userID, lines: body.lines, region: body.region, idempotencyKey: key?.value,
            requestHash: hash, caller: NewOrder.Caller(id: principal.userID, role: principal.role))
        guard let key else { return JSONBody.response(data: OrderResponse(try await orders.createOrder(newOrder)).json, status: .created) }
        return try await idempotency.inFlight.holding(principal.userID, key) {
            let unused = try await idempotency.refuseKeyOfAnotherRequest(userID: principal.userID, key: key)
            let placed = try await orders.placeOrder(newOrder, keyUnused: unused)
            return JSONBody.response(
                data: OrderResponse(placed.order).json, status: .created, headers: placed.replayed ? [IdempotencyKey.replayedHeader: "true"] : [:])
        }
    }

    /// Through the cache: an entry is the owner's id, a newline, and the order's JSON, so
    /// that visibility is checked on cached reads too.
    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter("id")
        let entry = try await reads.read(CacheKey.order(id)) {
            do {
                let order = try await orders.order(id)
                return Array(order.userID.lowercased.utf8) + [0x0A] + OrderResponse(order).json
            } catch let error as DomainError where error.code == .notFound {
                return nil
            }
        }
        guard let entry, let newline = entry.firstIndex(of: 0x0A),
            principal.isAdmin || String(decoding: entry[..<newline], as: UTF8.self) == principal.userID.lowercased
        else { throw Problem.notFound("no order \(id.lowercased)") }
        return JSONBody.response(data: Array(entry[(newline + 1)...]), status: .ok)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        var status: OrderStatus?
        if let text = request.uri.queryParameters.get("status") {
            guard let parsed = OrderStatus(rawValue: text) else {
                throw Problem.validation("status: must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = parsed
        }
        let page = try await orders.history.page(
            userID: principal.isAdmin ? nil : principal.userID, status: status, limit: try request.pageLimit(), after: try request.pageCursor())
        return try JSONBody.response(PageResponse(items: page.orders.map(OrderResponse.init), nextCursor: page.nextCursor?.lowercased))
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let order = try await visibleOrder(context)
        let principal = try context.requirePrincipal()
        return try await transition(request, principal) {
            try await orders.cancel(orderID: order.id, by: principal.role, reason: principal.isAdmin ? .admin : .user)
        }
    }

    @Sendable func ship(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requireAdmin()
        let id = try context.uuidParameter("id")
        return try await transition(request, principal) { try await orders.ship(orderID: id) }
    }

    @Sendable func deliver(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requireAdmin()
        let id = try context.uuidParameter("id")
        return try await transition(request, principal) { try await orders.deliver(orderID: id) }
    }

    private func transition(_ request: Request, _ principal: Principal, _ change: () async throws -> Order) async throws -> Response {
        let body = Array(buffer: try await JSONBody.bytes(of: request))
        return try await idempotency.run(request, principal: principal, body: body) {
            (.ok, OrderResponse(try await change()).json)
        }
    }

    /// The order of the path when the caller may see it (its owner, or an admin); anyone
    /// else's is `404`, as if it did not exist.
    private func visibleOrder(_ context: Context) async throws -> Order {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter("id")
        let order: Order
        do {
            order = try await orders.order(id)
        } catch let error as DomainError where error.code == .notFound {
            throw Problem.notFound("no order \(id.lowercased)")
        }
        guard principal.isAdmin || order.userID == principal.userID else { throw Problem.notFound("no order \(id.lowercased)") }
        return order
    }
}
