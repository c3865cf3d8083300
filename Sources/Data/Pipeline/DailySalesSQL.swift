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

    /// load (run on a copy of the warehouse): day `date` replaced by the aggregate in one
    /// transaction, the day's Parquet file written from the warehouse's rows, then the totals.
    static func load(_ aggregate: URL, date: LogicalDate, parquet: URL) -> String {
        let day = "DATE '\(date)'"
        return """
            BEGIN TRANSACTION;
            DELETE FROM daily_sales WHERE sale_date = \(day);
            INSERT INTO daily_sales
                SELECT sale_date, product_id, sku, region, orders, units, revenue, etl_run_id
                FROM read_parquet(\(SQLText.literal(aggregate.path)));
            COMMIT;
            COPY (SELECT * FROM daily_sales WHERE sale_date = \(day) ORDER BY product_id, region)
                TO \(SQLText.literal(parquet.path)) (FORMAT parquet);
            \(totals(from: "daily_sales WHERE sale_date = \(day)"))
            """
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
    /// `'text'` with quotes doubled.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
