import IntakeRuntime

/// Every text, bytea and jsonb column of the client's schema that contains `needle` as
/// plaintext (case-insensitively for text; as UTF-8 bytes, as given or lowercased, for
/// bytea), as `table.column`.
public func columnsContaining(_ needle: String, in db: PostgresClient) async throws -> [String] {
    let columns = try await db.query("""
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = current_schema() AND data_type IN ('text', 'bytea', 'jsonb', 'character varying')
        """)
    var found: [String] = []
    for column in columns {
        let table: String = try column.decode("table_name")
        let name: String = try column.decode("column_name")
        let type: String = try column.decode("data_type")
        let condition = type == "bytea"
            ? "position(convert_to($1, 'UTF8') IN \"\(name)\") > 0 OR position(convert_to(lower($1), 'UTF8') IN \"\(name)\") > 0"
            : "\"\(name)\"::text ILIKE '%' || $1 || '%'"
        let hits = try await db.query("SELECT count(*)::int8 AS n FROM \"\(table)\" WHERE \(condition)", [.text(needle)])[0].decode("n", as: Int.self)
        if hits > 0 { found.append("\(table).\(name)") }
    }
    return found
}
