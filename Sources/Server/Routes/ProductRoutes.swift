import Foundation
import Hummingbird
import IntakeActors

/// `/v1/products`: the catalog and its stock.
struct ProductRoutes<Context: IntakeContext> {
    let orders: OrderService
    let reads: CachedReads
    let idempotency: IdempotentRequests
    let defaultStockShards: Int

    func add(to group: RouterGroup<Context>) {
        group.post("products", use: create)
        group.get("products", use: list)
        group.get("products/{id}", use: show)
        group.post("products/{id}/stock", use: changeStock)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requireAdmin()
        let bytes = try await JSONBody.bytes(of: request)
        let body = try JSONBody.decode(CreateProductRequest.self, from: bytes)
        return try await idempotency.run(request, principal: principal, body: Array(buffer: bytes)) {
            let product = try await orders.createProduct(
                sku: body.sku, name: body.name, price: body.price.money, initialStock: body.initialStock,
                shards: body.stockShards ?? defaultStockShards)
            let stock = ProductStock(product: product, available: body.initialStock, reserved: 0)
            return (.created, try [UInt8](JSONBody.encoder.encode(ProductResponse(stock))))
        }
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try context.uuidParameter("id")
        let body = try await reads.read(CacheKey.product(id)) {
            try await orders.product(id).map { try [UInt8](JSONBody.encoder.encode(ProductResponse($0))) }
        }
        guard let body else { throw Problem.notFound("no product \(id.lowercased)") }
        return JSONBody.response(data: body, status: .ok)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let page = try await orders.catalog.page(limit: try request.pageLimit(), after: try request.pageCursor())
        return try JSONBody.response(PageResponse(items: page.products.map(ProductResponse.init), nextCursor: page.nextCursor?.lowercased))
    }

    @Sendable func changeStock(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requireAdmin()
        let id = try context.uuidParameter("id")
        let bytes = try await JSONBody.bytes(of: request)
        let body = try JSONBody.decode(StockChangeRequest.self, from: bytes)
        return try await idempotency.run(request, principal: principal, body: Array(buffer: bytes)) {
            let stock = try await orders.restock(productID: id, delta: body.delta)
            return (.ok, try [UInt8](JSONBody.encoder.encode(ProductResponse(stock))))
        }
    }
}
