import IntakeRuntime

/// Every SQL statement of the data-quality checks, in one place. Each measurement returns one
/// row: `value` (double precision), `total` (rows looked at) and optionally `detail`.
enum DataQualityQueries {
    static func measure(_ check: String, yesterday: LogicalDate) -> PostgresStatement? {
        switch check {
        case "orders.id.unique":
            return PostgresStatement("SELECT (count(*) - count(DISTINCT id))::float8 AS value, count(*)::int8 AS total FROM orders")
        case "orders.id.not_null":
            return PostgresStatement("SELECT count(*) FILTER (WHERE id IS NULL)::float8 AS value, count(*)::int8 AS total FROM orders")
        case "order_items.order_id.not_null":
            return PostgresStatement(
                "SELECT count(*) FILTER (WHERE order_id IS NULL)::float8 AS value, count(*)::int8 AS total FROM order_items")
        case "orders.status.accepted_values":
            return PostgresStatement(
                """
                SELECT count(*) FILTER (WHERE status NOT IN ('PENDING', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELED'))::float8 AS value,
                    count(*)::int8 AS total FROM orders
                """)
        case "order_items.order_id.relationships":
            return PostgresStatement(
                """
                SELECT count(*) FILTER (WHERE i.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id))::float8 AS value,
                    count(*)::int8 AS total FROM order_items i
                """)
        case "orders.user_id.completeness":
            // Erased users keep their row, so an erasure never counts against this.
            return PostgresStatement(
                """
                SELECT CASE WHEN count(*) = 0 THEN 100
                    ELSE 100.0 * count(*) FILTER (WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)) / count(*) END::float8 AS value,
                    count(*)::int8 AS total FROM orders o
                """)
        case "warehouse.daily_sales.freshness":
            return PostgresStatement(
                """
                SELECT COALESCE(extract(epoch FROM now() - max(finished_at)) / 3600, -1)::float8 AS value, count(*)::int8 AS total,
                    CASE WHEN count(*) = 0 THEN 'no daily_sales run for ' || $1 || ' has succeeded' END AS detail
                FROM etl_runs WHERE pipeline = 'daily_sales' AND logical_date = $1::date AND status = 'succeeded'
                """, [.text(yesterday.description)])
        case "stock.conservation":
            // Per shard: nothing negative; reserved = the items of live (PENDING, PAID) orders;
            // shipped = those of SHIPPED and DELIVERED ones. (available + reserved + shipped
            // then moves only with restocks and write-offs.)
            return PostgresStatement(
                """
                SELECT count(*) FILTER (
                    WHERE s.available < 0 OR s.reserved < 0 OR s.shipped < 0
                       OR s.reserved <> COALESCE(x.live, 0) OR s.shipped <> COALESCE(x.gone, 0))::float8 AS value,
                    count(*)::int8 AS total
                FROM stock_shards s
                LEFT JOIN (
                    SELECT i.product_id, i.shard,
                        sum(i.quantity) FILTER (WHERE o.status IN ('PENDING', 'PAID')) AS live,
                        sum(i.quantity) FILTER (WHERE o.status IN ('SHIPPED', 'DELIVERED')) AS gone
                    FROM order_items i JOIN orders o ON o.id = i.order_id GROUP BY 1, 2
                ) x ON x.product_id = s.product_id AND x.shard = s.shard
                """)
        default:
            return nil
        }
    }

    static let insertResults = """
        INSERT INTO dq_results (check_name, severity, passed, measured, threshold, detail, checked_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::float8[], $5::text[], $6::text[], $7::timestamptz[])
        """

    static let latest = """
        SELECT DISTINCT ON (check_name) check_name, severity, passed, measured::text AS measured, threshold, detail, checked_at
        FROM dq_results ORDER BY check_name, checked_at DESC, id DESC
        """
}
