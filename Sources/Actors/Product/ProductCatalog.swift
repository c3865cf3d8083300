import Foundation
import IntakeRuntime
import Synchronization

/// Reads products, and caches them: a product's price and shard count are immutable, so a
/// cached copy is never stale. Misses are not cached (the product may be created later).
public final class ProductCatalog: Sendable {
    let db: PostgresClient
    private let cache = Mutex<[UUID: Product]>([:])

    public init(db: PostgresClient) {
        self.db = db
    }

    public func product(_ id: UUID) async throws -> Product? {
        if let cached = cache.withLock({ $0[id] }) { return cached }
        let rows = try await db.query(
            "SELECT id, sku, name, price::text AS price, stock_shards, created_at FROM products WHERE id = $1", [.uuid(id)])
        guard let row = rows.first else { return nil }
        let product = try Self.decode(row)
        cache.withLock { $0[id] = product }
        return product
    }

    /// Creates a product with `initialStock` spread evenly over `shards` shards, in one
    /// transaction with `events` (each given the new product's id); `skuTaken` when another
    /// product has the SKU.
    public func create(
        sku: String, name: String, price: Money, initialStock: Int, shards: Int, events: (UUID) -> [OutboxEvent] = { _ in [] }
    ) async throws -> Product {
        guard (1...64).contains(shards) else { throw DomainError(.validation, "stock_shards must be 1..64", subject: "stock_shards") }
        guard initialStock >= 0 else { throw DomainError(.validation, "initial_stock must be >= 0", subject: "initial_stock") }
        let id = UUIDv7.make()
        let outbox = events(id)
        let perShard = (0..<shards).map { initialStock / shards + ($0 < initialStock % shards ? 1 : 0) }
        try FieldRules.text(sku, field: "sku", length: 1...100)
        try FieldRules.text(name, field: "name", length: 1...500)
        guard price >= .zero, price <= .maximumStored else {
            throw DomainError(.validation, "price must be 0..\(Money.maximumStored)", subject: "price")
        }
        guard initialStock <= Int(Int32.max) else { throw DomainError(.validation, "initial_stock is too large", subject: "initial_stock") }
        let rows: [PostgresRows]
        do {
            rows = try await db.pipeline([
            PostgresStatement(
                """
                INSERT INTO products (id, sku, name, price, stock_shards) VALUES ($1, $2, $3, $4::numeric, $5)
                RETURNING id, sku, name, price::text AS price, stock_shards, created_at
                """,
                [.uuid(id), .text(sku), .text(name), .text(price.description), .int32(Int32(shards))]),
            PostgresStatement(
                "INSERT INTO stock_shards (product_id, shard, available) SELECT $1, s, n FROM unnest($2::int4[], $3::int4[]) AS u(s, n)",
                [.uuid(id), .int32Array((0..<shards).map { Int32($0) }), .int32Array(perShard.map { Int32($0) })]),
            // The initial stock is the product's first entry in the stock ledger.
            PostgresStatement("INSERT INTO stock_ledger (product_id, delta) VALUES ($1, $2)", [.uuid(id), .int64(Int64(initialStock))]),
            ] + (outbox.isEmpty ? [] : [OutboxQueries.insert(outbox), OutboxQueries.notify]))
        } catch let error as PostgresError where error.code == .uniqueViolation && error.constraint == "products_sku_key" {
            throw DomainError(.skuTaken, "a product with sku \(sku) exists", subject: "sku")
        }
        let product = try Self.decode(rows[0][0])
        cache.withLock { $0[id] = product }
        return product
    }

    /// The product with its stock as the database has it now.
    public func stock(_ id: UUID) async throws -> ProductStock? {
        guard let product = try await product(id) else { return nil }
        let row = try await db.query(
            "SELECT COALESCE(sum(available), 0)::int8 AS available, COALESCE(sum(reserved), 0)::int8 AS reserved FROM stock_shards WHERE product_id = $1",
            [.uuid(id)])[0]
        return ProductStock(product: product, available: try row.decode("available"), reserved: try row.decode("reserved"))
    }

    /// A page of products in creation order (ids are time-ordered), strictly after `cursor`,
    /// with their stock.
    public func page(limit: Int, after cursor: UUID?) async throws -> (products: [ProductStock], nextCursor: UUID?) {
        let rows = try await db.query(
            """
            SELECT p.id, p.sku, p.name, p.price::text AS price, p.stock_shards, p.created_at,
                COALESCE(sum(s.available), 0)::int8 AS available, COALESCE(sum(s.reserved), 0)::int8 AS reserved
            FROM products p LEFT JOIN stock_shards s ON s.product_id = p.id
            WHERE $1::uuid IS NULL OR p.id > $1
            GROUP BY p.id ORDER BY p.id LIMIT $2
            """, [cursor.map { .uuid($0) } ?? .null, .int32(Int32(limit + 1))])
        let products = try rows.prefix(limit).map { row in
            ProductStock(product: try Self.decode(row), available: try row.decode("available"), reserved: try row.decode("reserved"))
        }
        return (products, rows.count > limit ? products.last?.product.id : nil)
    }

    static func decode(_ row: PostgresRow) throws -> Product {
        Product(
            id: try row.decode("id"), sku: try row.decode("sku"), name: try row.decode("name"), price: try row.decodeMoney("price"),
            stockShards: try row.decode("stock_shards"), createdAt: try row.decode("created_at"))
    }
}
