import Foundation
import IntakeRuntime

/// The lifecycle's SQL, in one place.
enum LifecycleQueries {
    /// Moves up to `$2` finished orders created before `$1` (oldest first, rows another
    /// transaction holds skipped) and their items to the archive tables; returns how many
    /// orders and items moved and the months (`YYYY-MM`, UTC) they belong to.
    static let archiveBatch = """
        WITH picked AS (
            SELECT id FROM orders WHERE created_at < $1 AND status IN ('DELIVERED', 'CANCELED')
            ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
        ), items AS (
            DELETE FROM order_items i USING picked p WHERE i.order_id = p.id RETURNING i.*
        ), archived_items AS (
            INSERT INTO order_items_archive SELECT * FROM items RETURNING 1
        ), moved AS (
            DELETE FROM orders o USING picked p WHERE o.id = p.id RETURNING o.*
        ), archived AS (
            INSERT INTO orders_archive SELECT * FROM moved RETURNING created_at
        )
        SELECT (SELECT count(*) FROM archived)::int8 AS orders, (SELECT count(*) FROM archived_items)::int8 AS items,
            COALESCE((SELECT array_agg(DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')) FROM archived), '{}') AS months
        """

    /// A row when the month starting at `$1` is cold: its earlier rows left Postgres.
    static let isColdMonth = """
        SELECT 1 FROM cold_months WHERE month = ($1::timestamptz AT TIME ZONE 'UTC')::date
        """

    /// Archive months wholly before `$1`.
    static let coldMonths = """
        SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month FROM orders_archive
        WHERE created_at < date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' ORDER BY 1
        """

    /// Removes the archive rows of the month `[$1, $2)`, adding the units their delivered
    /// orders shipped to `shipped_cold` and the month to `cold_months`; returns the orders and
    /// items removed.
    static let dropMonth = """
        WITH gone AS (
            DELETE FROM orders_archive WHERE created_at >= $1 AND created_at < $2 RETURNING id, status
        ), items AS (
            DELETE FROM order_items_archive i USING gone g WHERE i.order_id = g.id
            RETURNING i.product_id, i.shard, CASE WHEN g.status IN ('SHIPPED', 'DELIVERED') THEN i.quantity ELSE 0 END AS shipped
        ), counted AS (
            INSERT INTO shipped_cold (product_id, shard, units)
            SELECT product_id, shard, sum(shipped) FROM items GROUP BY 1, 2 HAVING sum(shipped) > 0
            ON CONFLICT (product_id, shard) DO UPDATE SET units = shipped_cold.units + EXCLUDED.units
            RETURNING 1
        ), marked AS (
            INSERT INTO cold_months (month) VALUES (($1::timestamptz AT TIME ZONE 'UTC')::date) ON CONFLICT DO NOTHING
        )
        SELECT (SELECT count(*) FROM gone)::int8 AS orders, (SELECT count(*) FROM items)::int8 AS items,
            (SELECT count(*) FROM counted)::int8 AS shards
        """

    static let orderColumns = """
        'id': 'VARCHAR', 'user_id': 'VARCHAR', 'status': 'VARCHAR', 'amount': 'DECIMAL(12,2)', 'region': 'VARCHAR',
        'created_at': 'TIMESTAMPTZ', 'updated_at': 'TIMESTAMPTZ', 'expires_at': 'TIMESTAMPTZ'
        """

    static let itemColumns = """
        'order_id': 'VARCHAR', 'product_id': 'VARCHAR', 'shard': 'INTEGER', 'quantity': 'INTEGER', 'unit_price': 'DECIMAL(12,2)'
        """

    /// `created_at` within the UTC month `month` (`YYYY-MM`, checked by `Lifecycle.range`).
    static func inMonth(_ column: String, _ month: String) -> String {
        "\(column) >= ('\(month)-01'::timestamp AT TIME ZONE 'UTC') AND \(column) < (('\(month)-01'::timestamp + interval '1 month') AT TIME ZONE 'UTC')"
    }

    static func exportOrders(month: String) -> String {
        """
        COPY (SELECT id, user_id, status, amount, region, created_at, updated_at, expires_at FROM orders_archive
              WHERE \(inMonth("created_at", month)) ORDER BY id)
        TO STDOUT WITH (FORMAT csv)
        """
    }

    static func exportItems(month: String) -> String {
        """
        COPY (SELECT i.order_id, i.product_id, i.shard, i.quantity, i.unit_price FROM order_items_archive i
              JOIN orders_archive o ON o.id = i.order_id WHERE \(inMonth("o.created_at", month))
              ORDER BY i.order_id, i.product_id, i.shard)
        TO STDOUT WITH (FORMAT csv)
        """
    }
}
