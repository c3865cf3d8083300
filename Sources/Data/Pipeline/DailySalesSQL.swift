import Foundation

/// The DuckDB scripts of the `daily_sales` steps, in one place (the Postgres side is in
/// `EtlQueries`). Paths and values are quoted with `SQLText.literal`.
enum DailySalesSQL {
    /// anonymize: the extract's CSV (order_id, product_id, sku, region, quantity, unit_price)
    /// to Parquet with only those columns and `unknown` for a missing region; then the units.
    static func anonymize(items: URL, into output: URL) -> String {
        """
        \(spillBeside(output))
        COPY (
            SELECT CAST(order_id AS UUID) AS order_key, product_id, sku, COALESCE(region, 'unknown') AS region,
                quantity, unit_price
            FROM read_csv(\(SQLText.literal(items.path)), header = false, auto_detect = false, allow_quoted_nulls = false,
                columns = {'order_id': 'VARCHAR', 'product_id': 'VARCHAR', 'sku': 'VARCHAR', 'region': 'VARCHAR',
                           'quantity': 'BIGINT', 'unit_price': 'DECIMAL(12,2)'})
        ) TO \(SQLText.literal(output.path)) (FORMAT parquet);
        SELECT COALESCE(sum(quantity), 0)::BIGINT AS units FROM read_parquet(\(SQLText.literal(output.path)));
        """
    }

    /// aggregate: per (product, region) of day `date`, the warehouse's columns; then the totals.
    static func aggregate(_ anonymized: URL, date: LogicalDate, runID: UUID, into output: URL) -> String {
        """
        \(spillBeside(output))
        COPY (
            SELECT DATE '\(date)' AS sale_date, product_id, min(sku) AS sku, region,
                count(DISTINCT order_key)::BIGINT AS orders, sum(quantity)::BIGINT AS units,
                sum(quantity * unit_price)::DECIMAL(18,2) AS revenue, \(SQLText.literal(runID.lowercasedString)) AS etl_run_id
            FROM read_parquet(\(SQLText.literal(anonymized.path)))
            GROUP BY product_id, region ORDER BY product_id, region
        ) TO \(SQLText.literal(output.path)) (FORMAT parquet);
        \(totals(from: "read_parquet(\(SQLText.literal(output.path)))"))
        """
    }

    /// load (run on a copy of the warehouse): day D replaced by the aggregate in one
    /// transaction, unless the day holds a later snapshot than the run's — a greater or equal
    /// xmax *and* a later clock: transaction ids go back after a point-in-time restore (or on
    /// another cluster), and then the run's later clock wins — (then the script
    /// fails with `supersededMarker` and the run holding it); the day's lineage row names the
    /// run and its snapshot; the day's Parquet file is written from the warehouse's rows;
    /// then the totals.
    static func load(_ aggregate: URL, run: EtlRun, parquet: URL) -> String {
        let day = "DATE '\(run.logicalDate)'"
        let runID = SQLText.literal(run.id.lowercasedString)
        // A run extracted before snapshots were recorded has none: it replaces the day as
        // every run did then, and leaves the day's lineage without a position.
        let xmax = SQLText.integer(run.snapshot?.xmax)
        let at = SQLText.timestamp(run.snapshot?.at)
        return """
            BEGIN TRANSACTION;
            SELECT error(\(SQLText.literal(supersededMarker)) || etl_run_id) FROM daily_sales_lineage
                WHERE sale_date = \(day) AND etl_run_id <> \(runID)
                    AND snapshot_xmax >= \(xmax) AND snapshot_at > \(at);
            DELETE FROM daily_sales WHERE sale_date = \(day);
            INSERT INTO daily_sales
                SELECT sale_date, product_id, sku, region, orders, units, revenue, etl_run_id
                FROM read_parquet(\(SQLText.literal(aggregate.path)));
            DELETE FROM daily_sales_lineage WHERE sale_date = \(day);
            INSERT INTO daily_sales_lineage VALUES (\(day), \(runID), \(xmax), \(at), now()::TIMESTAMP);
            COMMIT;
            COPY (SELECT * FROM daily_sales WHERE sale_date = \(day) ORDER BY product_id, region)
                TO \(SQLText.literal(parquet.path)) (FORMAT parquet);
            \(totals(from: "daily_sales WHERE sale_date = \(day)"))
            """
    }

    /// Begins the error of a load refused because the day holds a later snapshot; the id of
    /// the run that loaded it follows.
    static let supersededMarker = "intake: superseded by run "

    /// The refusal in a DuckDB error `message`, as the run's error: nil when it is another error.
    static func superseded(_ message: String) -> String? {
        guard let range = message.range(of: supersededMarker) else { return nil }
        let holder = message[range.upperBound...].prefix { $0.isHexDigit || $0 == "-" }
        return "superseded: run \(holder) loaded a later snapshot of this day; this run's older extract was not loaded"
    }

    /// An in-memory DuckDB spills a day larger than memory to `.tmp` in its working directory
    /// by default; the run's staging directory (removed with the run) is the place.
    static func spillBeside(_ file: URL) -> String {
        "SET temp_directory = \(SQLText.literal(file.deletingLastPathComponent().appendingPathComponent("duckdb-spill").path));"
    }

    /// One row: `rows`, `units`, `revenue` (text, two decimals) of `source`.
    static func totals(from source: String) -> String {
        """
        SELECT count(*)::BIGINT AS rows, COALESCE(sum(units), 0)::BIGINT AS units,
            COALESCE(sum(revenue), 0)::DECIMAL(18,2)::VARCHAR AS revenue FROM \(source);
        """
    }
}

/// SQL text for DuckDB scripts.
enum SQLText {
    /// The number, or `NULL`.
    static func integer(_ value: Int64?) -> String {
        value.map(String.init) ?? "NULL"
    }

    /// A `TIMESTAMP` (UTC, to the microsecond) of `date`, or `NULL`.
    static func timestamp(_ date: Date?) -> String {
        date.map { "make_timestamp(\(Int64(($0.timeIntervalSince1970 * 1_000_000).rounded())))" } ?? "NULL"
    }

    /// `'text'` with quotes doubled.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
