import Foundation
import IntakeRuntime

/// Every SQL statement of the pipelines against Postgres, in one place: the run records and
/// what the `daily_sales` extract reads from the order domain's tables.
enum EtlQueries {
    static let columns = """
        id, pipeline, logical_date::text AS logical_date, status, trigger, created_at, started_at, finished_at,
        orders_extracted, rows_loaded, revenue::text AS revenue, output, error,
        source_revenue::text AS source_revenue, source_units, snapshot_xmax, snapshot_at
        """

    static func insert(_ run: EtlRun) -> PostgresStatement {
        PostgresStatement(
            "INSERT INTO etl_runs (id, pipeline, logical_date, status, trigger) VALUES ($1, $2, $3::date, 'queued', $4) RETURNING \(columns)",
            [.uuid(run.id), .text(run.pipeline), .text(run.logicalDate.description), .text(run.trigger.rawValue)])
    }

    /// The schedule's run of a day, once: nothing when it exists already.
    static func insertScheduled(_ run: EtlRun) -> PostgresStatement {
        PostgresStatement(
            """
            INSERT INTO etl_runs (id, pipeline, logical_date, status, trigger) VALUES ($1, $2, $3::date, 'queued', 'schedule')
            ON CONFLICT (pipeline, logical_date) WHERE trigger = 'schedule' DO NOTHING
            RETURNING \(columns)
            """,
            [.uuid(run.id), .text(run.pipeline), .text(run.logicalDate.description)])
    }

    static func find(_ id: UUID) -> PostgresStatement {
        PostgresStatement("SELECT \(columns) FROM etl_runs WHERE id = $1", [.uuid(id)])
    }

    /// The newest run of `pipeline` with `trigger`.
    static func latest(pipeline: String, trigger: String) -> PostgresStatement {
        PostgresStatement(
            "SELECT \(columns) FROM etl_runs WHERE pipeline = $1 AND trigger = $2 ORDER BY id DESC LIMIT 1", [.text(pipeline), .text(trigger)])
    }

    /// Newest first (ids are UUIDv7), after the cursor.
    static func page(pipeline: String?, limit: Int, after cursor: UUID?) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT \(columns) FROM etl_runs
            WHERE ($1::text IS NULL OR pipeline = $1) AND ($2::uuid IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3
            """,
            [.optionalText(pipeline), .optionalUUID(cursor), .int(limit)])
    }

    /// Marks a queued run running (the first step to start does it).
    static func markRunning(_ id: UUID) -> PostgresStatement {
        PostgresStatement(
            "UPDATE etl_runs SET status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1 AND status IN ('queued', 'running')",
            [.uuid(id)])
    }

    static func recordExtract(_ id: UUID, _ extracted: DailySales.Extracted) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE etl_runs SET orders_extracted = $2, source_revenue = $3::numeric, source_units = $4, snapshot_xmax = $5, snapshot_at = $6
            WHERE id = $1 AND status = 'running'
            """,
            [
                .uuid(id), .int64(extracted.orders), .text(extracted.revenue), .int64(extracted.units),
                .int64(extracted.snapshot.xmax), .timestamptz(extracted.snapshot.at),
            ])
    }

    static func recordUnits(_ id: UUID, units: Int64) -> PostgresStatement {
        PostgresStatement("UPDATE etl_runs SET source_units = $2 WHERE id = $1 AND status = 'running'", [.uuid(id), .int64(units)])
    }

    static func markSucceeded(_ id: UUID, rows: Int64, revenue: String, output: String) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE etl_runs SET status = 'succeeded', finished_at = now(), rows_loaded = $2, revenue = $3::numeric, output = $4, error = NULL
            WHERE id = $1 AND status = 'running' RETURNING \(columns)
            """,
            [.uuid(id), .int64(rows), .text(revenue), .text(output)])
    }

    /// Fails an unfinished run; returns it when this call failed it.
    static func markFailed(_ id: UUID, error: String) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE etl_runs SET status = 'failed', finished_at = now(), error = $2
            WHERE id = $1 AND status IN ('queued', 'running') RETURNING \(columns)
            """,
            [.uuid(id), .text(error)])
    }

    /// Unfinished runs that no step job carries any more (its job was discarded by the
    /// rescuer after its last attempt, or deleted), with the last error of their jobs.
    static let orphans = """
        SELECT r.id, (SELECT j.last_error FROM jobs j WHERE j.unique_key LIKE 'etl:' || r.id::text || ':%'
                      ORDER BY j.id DESC LIMIT 1) AS last_error,
            (SELECT j.state::text FROM jobs j WHERE j.unique_key LIKE 'etl:' || r.id::text || ':%'
             ORDER BY j.id DESC LIMIT 1) AS last_state
        FROM etl_runs r
        WHERE r.status IN ('queued', 'running')
          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.unique_key LIKE 'etl:' || r.id::text || ':%'
                          AND j.state IN ('available', 'running', 'retryable'))
        """

    /// Which of the runs `$1` have ended.
    static let endedRuns = "SELECT id FROM etl_runs WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'failed')"

    /// The run id a pipeline job (`$2` is its kind) carries in its arguments.
    static let runOfJob = "SELECT args->>'run_id' AS run_id FROM jobs WHERE id = $1 AND kind = $2"

    /// The latest run of a pipeline for a day that succeeded.
    static func latestSucceeded(pipeline: String, date: LogicalDate) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT \(columns) FROM etl_runs WHERE pipeline = $1 AND logical_date = $2::date AND status = 'succeeded'
            ORDER BY finished_at DESC LIMIT 1
            """,
            [.text(pipeline), .text(date.description)])
    }

    // MARK: The daily_sales extract (order domain tables, read-only)

    /// The day's filter: created in `[D, D+1)` UTC, paid or later, not canceled.
    static func dayFilter(_ date: LogicalDate) -> String {
        "o.created_at >= '\(date) 00:00:00+00'::timestamptz AND o.created_at < '\(date.adding(days: 1)) 00:00:00+00'::timestamptz"
            + " AND o.status IN ('PAID', 'SHIPPED', 'DELIVERED')"
    }

    /// The orders of the day wherever they are in Postgres: the hot table and the archive
    /// (an order is in exactly one: the lifecycle moves it in one transaction).
    static let allOrders = """
        (SELECT id, status, amount, region, created_at FROM orders
         UNION ALL SELECT id, status, amount, region, created_at FROM orders_archive)
        """
    static let allItems = """
        (SELECT order_id, product_id, quantity, unit_price FROM order_items
         UNION ALL SELECT order_id, product_id, quantity, unit_price FROM order_items_archive)
        """

    /// Whether the day's month has left Postgres (`cold_months`); and, as the first statement
    /// of the extract's transaction, the snapshot it takes: its xmax (every transaction below
    /// it that had ended is visible, so a greater xmax is a later snapshot that sees all an
    /// earlier one saw) and the clock.
    static func isCold(_ date: LogicalDate) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT EXISTS (SELECT 1 FROM cold_months WHERE month = date_trunc('month', $1::date)::date) AS cold,
                pg_snapshot_xmax(pg_current_snapshot())::text::int8 AS snapshot_xmax, clock_timestamp() AS snapshot_at
            """, [.text(date.description)])
    }

    /// Control totals of the day, in the extract's snapshot: its orders, the sum of their
    /// amounts and the sum of their items' quantities (counted here, not from the extracted
    /// file: a file short of rows must not agree with itself).
    static func controlTotals(_ date: LogicalDate) -> String {
        """
        SELECT count(*)::int8 AS orders, COALESCE(sum(o.amount), 0)::numeric(18,2)::text AS revenue,
            (SELECT COALESCE(sum(i.quantity), 0)::int8 FROM \(allOrders) o JOIN \(allItems) i ON i.order_id = o.id
             WHERE \(dayFilter(date))) AS units
        FROM \(allOrders) o WHERE \(dayFilter(date))
        """
    }

    /// The day's items as CSV: only what the pipeline may keep (no user, no personal datum).
    /// Columns: order_id, product_id, sku, region, quantity, unit_price.
    static func extractItems(_ date: LogicalDate) -> String {
        """
        COPY (
            SELECT i.order_id, i.product_id, p.sku, o.region, i.quantity, i.unit_price
            FROM \(allOrders) o JOIN \(allItems) i ON i.order_id = o.id LEFT JOIN products p ON p.id = i.product_id
            WHERE \(dayFilter(date))
        ) TO STDOUT (FORMAT csv)
        """
    }
}

extension EtlRun {
    init(row: PostgresRow) throws {
        let dateText: String = try row.decode("logical_date")
        guard let date = LogicalDate(dateText) else {
            throw DataError(code: .validation, message: "etl_runs.logical_date \(dateText) is not a date")
        }
        let statusText: String = try row.decode("status")
        let triggerText: String = try row.decode("trigger")
        guard let status = Status(rawValue: statusText), let trigger = Trigger(rawValue: triggerText) else {
            throw DataError(code: .validation, message: "etl_runs has status \(statusText) / trigger \(triggerText)")
        }
        self.init(
            id: try row.decode("id"), pipeline: try row.decode("pipeline"), logicalDate: date, status: status, trigger: trigger,
            createdAt: try row.decode("created_at"), startedAt: try row.decode("started_at"), finishedAt: try row.decode("finished_at"),
            ordersExtracted: try row.decode("orders_extracted"), rowsLoaded: try row.decode("rows_loaded"),
            revenue: try row.decode("revenue"), output: try row.decode("output"), error: try row.decode("error"),
            sourceRevenue: try row.decode("source_revenue"), sourceUnits: try row.decode("source_units"),
            snapshot: try row.decode("snapshot_xmax", as: Int64?.self).map { EtlRun.Snapshot(xmax: $0, at: try row.decode("snapshot_at")) })
    }
}
