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
                SELECT COALESCE(extract(epoch FROM now() - max(finished_at)) / 3600, 'NaN')::float8 AS value, count(*)::int8 AS total,
                    CASE WHEN count(*) = 0 THEN 'no daily_sales run for ' || $1 || ' has succeeded' END AS detail,
                    (array_agg(rows_loaded ORDER BY finished_at DESC))[1] AS rows_loaded,
                    (array_agg(id::text ORDER BY finished_at DESC))[1] AS run_id
                FROM etl_runs WHERE pipeline = 'daily_sales' AND logical_date = $1::date AND status = 'succeeded'
                """, [.text(yesterday.description)])
        case "stock.conservation":
            // Per product: available + reserved + shipped over its shards = its ledger (initial
            // stock + restocks - write-offs); per shard: nothing negative, reserved = the items
            // of live (PENDING, PAID) orders, shipped = those of SHIPPED and DELIVERED ones,
            // wherever they are now: hot, archived (warm), or gone cold (`shipped_cold`).
            // The value counts the products and shards out of balance.
            return PostgresStatement(
                """
                WITH per_shard AS (
                    SELECT s.product_id, s.shard, s.available, s.reserved, s.shipped, COALESCE(x.live, 0) AS live, COALESCE(x.gone, 0) AS gone,
                        s.available < 0 OR s.reserved < 0 OR s.shipped < 0
                            OR s.reserved <> COALESCE(x.live, 0) OR s.shipped <> COALESCE(x.gone, 0) AS off
                    FROM stock_shards s
                    LEFT JOIN (
                        SELECT product_id, shard, sum(live) AS live, sum(gone) AS gone FROM (
                            SELECT i.product_id, i.shard,
                                sum(i.quantity) FILTER (WHERE o.status IN ('PENDING', 'PAID')) AS live,
                                sum(i.quantity) FILTER (WHERE o.status IN ('SHIPPED', 'DELIVERED')) AS gone
                            FROM order_items i JOIN orders o ON o.id = i.order_id GROUP BY 1, 2
                            UNION ALL
                            SELECT i.product_id, i.shard,
                                sum(i.quantity) FILTER (WHERE o.status IN ('PENDING', 'PAID')),
                                sum(i.quantity) FILTER (WHERE o.status IN ('SHIPPED', 'DELIVERED'))
                            FROM order_items_archive i JOIN orders_archive o ON o.id = i.order_id GROUP BY 1, 2
                            UNION ALL
                            SELECT product_id, shard, 0, units FROM shipped_cold
                        ) all_orders GROUP BY 1, 2
                    ) x ON x.product_id = s.product_id AND x.shard = s.shard
                ),
                per_product AS (
                    SELECT p.product_id, p.on_hand, COALESCE(l.received, 0) AS received, p.on_hand <> COALESCE(l.received, 0) AS off
                    FROM (SELECT product_id, sum(available::int8 + reserved + shipped) AS on_hand FROM per_shard GROUP BY product_id) p
                    LEFT JOIN (SELECT product_id, sum(delta) AS received FROM stock_ledger GROUP BY product_id) l
                        ON l.product_id = p.product_id
                )
                SELECT ((SELECT count(*) FROM per_shard WHERE off) + (SELECT count(*) FROM per_product WHERE off))::float8 AS value,
                    (SELECT count(*) FROM per_shard)::int8 AS total,
                    (SELECT string_agg(line, '; ') FROM (
                        SELECT line FROM (
                            SELECT 1 AS kind, product_id::text AS product, 0 AS shard,
                                'product ' || product_id || ': on hand ' || on_hand || ' (available + reserved + shipped), received ' || received
                                    || ' (stock_ledger)' AS line
                            FROM per_product WHERE off
                            UNION ALL
                            SELECT 2, product_id::text, shard,
                                'product ' || product_id || ' shard ' || shard || ': available ' || available || ', reserved ' || reserved
                                    || ' (open orders hold ' || live || '), shipped ' || shipped || ' (shipped orders hold ' || gone || ')'
                            FROM per_shard WHERE off
                        ) lines ORDER BY kind, product, shard LIMIT 5
                    ) first_lines) AS detail
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
