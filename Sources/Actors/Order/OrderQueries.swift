import Foundation
import IntakeRuntime

/// Every SQL statement of orders and stock, in one place. Hot-path writes are
/// `BatchedStatement`s, so group commit merges a batch's orders into one statement per table.
/// Money goes into them as its decimal text (`"3.10"`), which the `numeric[]` casts parse
/// exactly.
public enum OrderQueries {
    /// A new order row, with the creating request's idempotency key.
    static let insertOrder = BatchedStatement(
        """
        INSERT INTO orders (id, user_id, status, amount, region, created_at, updated_at, expires_at, idempotency_key, request_hash,
                            idempotency_scope)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::text[], $6::timestamptz[],
                             $7::timestamptz[], $8::timestamptz[], $9::text[], $10::bytea[], $11::uuid[])
        """, columns: 11, fusion: .modification)

    static let insertItem = BatchedStatement(
        """
        INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::int4[], $5::numeric[])
        """, columns: 5, fusion: .modification)

    /// Moves `n` units of a shard between counters: reserve (`available → reserved`), release
    /// (`reserved → available`) or ship (`reserved → shipped`). Rows of one shard are summed
    /// first: an `UPDATE ... FROM` applies one joined row per target row. A move that changes
    /// `available` marks the shard's level as owing an event (`InventoryUpdates`).
    static let moveStock = BatchedStatement(
        """
        UPDATE stock_shards s SET
            available = s.available - d.reserve + d.release,
            reserved = s.reserved + d.reserve - d.release - d.ship,
            shipped = s.shipped + d.ship,
            level_changed = s.level_changed OR d.reserve <> d.release
        FROM (
            SELECT product_id, shard, sum(reserve) AS reserve, sum(release) AS release, sum(ship) AS ship
            FROM unnest($1::uuid[], $2::int4[], $3::int4[], $4::int4[], $5::int4[]) AS m(product_id, shard, reserve, release, ship)
            GROUP BY product_id, shard
        ) d
        WHERE s.product_id = d.product_id AND s.shard = d.shard
        """, columns: 5, fusion: .modification)

    /// Status changes, each only from the status its decision was made on (`$4`): a row that
    /// another process (or a stale activation) changed since fails the whole statement with
    /// `expectationFailed`, and group commit fails that write set alone.
    static let updateStatus = BatchedStatement(
        """
        WITH u AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[]) AS u(id, status, updated_at, expected)),
        changed AS (
            UPDATE orders o SET status = u.status, updated_at = u.updated_at, version = o.version + 1
            FROM u WHERE o.id = u.id AND o.status = u.expected
            RETURNING o.id
        )
        SELECT intake_expect((SELECT count(*) FROM changed) = (SELECT count(*) FROM u), 'an order changed since its status was read')
        """, columns: 4)

    /// SQLSTATE of `intake_expect`'s failure.
    static let expectationFailed = "IN001"

    // MARK: Rows of the batched statements

    /// A row of `insertOrder`.
    static func orderRow(_ order: Order, request: NewOrder) -> [PostgresValue] {
        [.uuid(order.id), .uuid(order.userID), .text(order.status.rawValue), .text(order.amount.description), .optionalText(order.region),
         .timestamptz(order.createdAt), .timestamptz(order.updatedAt), .timestamptz(order.expiresAt), .optionalText(request.idempotencyKey),
         request.requestHash.map { .bytea($0) } ?? .null, request.idempotencyKey == nil ? .null : .uuid(request.idempotencyScope)]
    }

    /// A row of `insertItem`: the units of one product an order took from one shard.
    static func itemRow(order: UUID, hold: Reservation.Hold, unitPrice: Money) -> [PostgresValue] {
        [.uuid(order), .uuid(hold.productID), .int32(Int32(hold.shard)), .int32(Int32(hold.quantity)), .text(unitPrice.description)]
    }

    /// A row of `moveStock`.
    static func stockMove(_ hold: Reservation.Hold, reserve: Int = 0, release: Int = 0, ship: Int = 0) -> [PostgresValue] {
        [.uuid(hold.productID), .int32(Int32(hold.shard)), .int32(Int32(reserve)), .int32(Int32(release)), .int32(Int32(ship))]
    }

    /// A row of `updateStatus`: `order`'s new status, written only over `decidedOn`.
    static func statusRow(_ order: Order, decidedOn: OrderStatus) -> [PostgresValue] {
        [.uuid(order.id), .text(order.status.rawValue), .timestamptz(order.updatedAt), .text(decidedOn.rawValue)]
    }

    /// Adds `delta` (negative: writes off) to shards' available units, marking their level
    /// as owing an event (`InventoryUpdates`).
    static let adjustStock = """
        UPDATE stock_shards s SET available = s.available + d.delta, level_changed = true
        FROM unnest($1::uuid[], $2::int4[], $3::int4[]) AS d(product_id, shard, delta)
        WHERE s.product_id = d.product_id AND s.shard = d.shard
        """

    /// A restock (positive `$2`) or write-off (negative) of product `$1`, in the stock ledger.
    static let recordStockMovement = "INSERT INTO stock_ledger (product_id, delta) VALUES ($1, $2)"

    /// The `inventory.updated` event of product `$2`, whose JSON `$4` carries the placeholder
    /// `"newStockLevel":-1`, replaced in the same transaction by the product's new total.
    static let insertInventoryEvent = """
        INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, event)
        SELECT $1, 'product', $2, $3,
            replace($4, '"newStockLevel":-1', '"newStockLevel":' || (SELECT sum(available) FROM stock_shards WHERE product_id = $2::uuid)::text)
        """

    /// `inventory.updated` events (`InventoryUpdates`), one per product. Each row is the
    /// event's id, product, type and CloudEvent JSON, written in Swift with
    /// `"newStockLevel":-1`; the level is put in here. The levels are summed in one pass over
    /// the products' shards, not a scan per product (a subquery per row was 11 µs of Postgres
    /// CPU per order: the planner scans the small, hot `stock_shards` table whole, dead row
    /// versions included, for each).
    static let insertInventoryEvents = """
        WITH u AS (
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS u(id, product_id, event_type, event)
        ), levels AS (
            SELECT product_id, sum(available) AS level FROM stock_shards WHERE product_id = ANY($2::uuid[]) GROUP BY product_id
        )
        INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, event)
        SELECT u.id, 'product', u.product_id::text, u.event_type,
            replace(u.event, '"newStockLevel":-1', '"newStockLevel":' || COALESCE(levels.level, 0))
        FROM u LEFT JOIN levels ON levels.product_id = u.product_id
        """

    static let insertPayment = "INSERT INTO payments (payment_id, order_id, amount, status) VALUES ($1, $2, $3, $4)"

    static let orderColumns = "id, user_id, status, amount::text AS amount, region, created_at, updated_at, expires_at"

    /// One order: from the hot table, else from the archive (finished orders past the hot
    /// retention, moved by the lifecycle job; they take no more commands).
    static let selectOrder = """
        SELECT \(orderColumns) FROM orders WHERE id = $1
        UNION ALL SELECT \(orderColumns) FROM orders_archive WHERE id = $1
        LIMIT 1
        """

    /// An order from a row of `orderColumns` and its items.
    static func decodeOrder(_ row: PostgresRow, items: [OrderItem]) throws -> Order {
        guard let status = OrderStatus(rawValue: try row.decode("status")) else {
            throw PostgresError(code: .decoding, message: "unknown order status")
        }
        return Order(
            id: try row.decode("id"), userID: try row.decode("user_id"), status: status, amount: try row.decodeMoney("amount"), items: items,
            region: try row.decode("region"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            expiresAt: try row.decode("expires_at"))
    }

    static let selectItems = """
        SELECT product_id, shard, quantity, unit_price::text AS unit_price FROM (
            SELECT * FROM order_items WHERE order_id = $1 UNION ALL SELECT * FROM order_items_archive WHERE order_id = $1
        ) AS i ORDER BY product_id, shard
        """

    static let selectShard = "SELECT available, reserved FROM stock_shards WHERE product_id = $1 AND shard = $2"

    /// PENDING orders past their expiry, oldest first, through `orders_pending_expiry`.
    static let expiredOrders = """
        SELECT id FROM orders WHERE status = 'PENDING' AND expires_at < now() ORDER BY expires_at LIMIT $1
        """
}
