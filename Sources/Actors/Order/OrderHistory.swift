import Foundation
import IntakeRuntime

/// Reads orders straight from the database, for listings and exports. Single orders are read
/// through their actor (`OrderService.order`), which serializes the read with commands.
public final class OrderHistory: Sendable {
    /// One page of orders, newest first, and the cursor of the next page.
    public struct Page: Sendable {
        public var orders: [Order]
        public var nextCursor: UUID?
    }

    let db: PostgresClient

    public init(db: PostgresClient) {
        self.db = db
    }

    /// Orders newest first (ids are time-ordered), optionally one user's and of one status,
    /// strictly older than `cursor`; archived orders included (the lifecycle moved them, they
    /// are still the user's), each table read newest first up to the page.
    public func page(userID: UUID?, status: OrderStatus?, limit: Int, after cursor: UUID?) async throws -> Page {
        let filter = "($1::uuid IS NULL OR user_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id < $3)"
        let rows = try await db.query(
            """
            SELECT \(OrderQueries.orderColumns) FROM (
                (SELECT * FROM orders WHERE \(filter) ORDER BY id DESC LIMIT $4)
                UNION ALL (SELECT * FROM orders_archive WHERE \(filter) ORDER BY id DESC LIMIT $4)
            ) AS o ORDER BY id DESC LIMIT $4
            """,
            [userID.map { .uuid($0) } ?? .null, .optionalText(status?.rawValue), cursor.map { .uuid($0) } ?? .null, .int32(Int32(limit + 1))])
        let orders = try await withItems(Array(rows.prefix(limit)))
        return Page(orders: orders, nextCursor: rows.count > limit ? orders.last?.id : nil)
    }

    /// Every order of a user, newest first, archived ones included (an export holds every
    /// stored datum).
    public func all(userID: UUID) async throws -> [Order] {
        let rows = try await db.query(
            """
            SELECT \(OrderQueries.orderColumns) FROM (
                SELECT * FROM orders WHERE user_id = $1 UNION ALL SELECT * FROM orders_archive WHERE user_id = $1
            ) AS o ORDER BY id DESC
            """, [.uuid(userID)])
        return try await withItems(Array(rows))
    }

    /// The order a caller created with this idempotency key (`NewOrder.idempotencyScope`), as
    /// it was when created, with the hash of the creating request's body.
    public func created(scope: UUID, idempotencyKey: String) async throws -> (order: Order, requestHash: [UInt8]?)? {
        let rows = try await db.query(
            "SELECT \(OrderQueries.orderColumns), request_hash FROM orders WHERE idempotency_scope = $1 AND idempotency_key = $2",
            [.uuid(scope), .text(idempotencyKey)])
        guard let row = rows.first, var order = try await withItems([row]).first else { return nil }
        order.status = .pending
        order.updatedAt = order.createdAt
        return (order, try row.decode("request_hash"))
    }

    private func withItems(_ rows: [PostgresRow]) async throws -> [Order] {
        if rows.isEmpty { return [] }
        let ids: [UUID] = try rows.map { try $0.decode("id") }
        let itemRows = try await db.query(
            """
            SELECT order_id, product_id, sum(quantity)::int8 AS quantity, unit_price::text AS unit_price FROM (
                SELECT * FROM order_items WHERE order_id = ANY($1::uuid[])
                UNION ALL SELECT * FROM order_items_archive WHERE order_id = ANY($1::uuid[])
            ) AS i GROUP BY order_id, product_id, unit_price ORDER BY order_id, product_id
            """, [.uuidArray(ids)])
        var items: [UUID: [OrderItem]] = [:]
        for row in itemRows {
            items[try row.decode("order_id"), default: []].append(
                OrderItem(productID: try row.decode("product_id"), quantity: try row.decode("quantity"), unitPrice: try row.decodeMoney("unit_price")))
        }
        return try rows.map { row in try OrderQueries.decodeOrder(row, items: items[try row.decode("id")] ?? []) }
    }
}
