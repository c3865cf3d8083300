/// The rows a statement returned, in text format, decoded on demand to Swift types.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// Column names, in order.
    public let columns: [String]
    /// Column types, in order.
    public let columnTypes: [PostgresType]
    /// Rows affected by an INSERT/UPDATE/DELETE (`PQcmdTuples`), or the number of rows returned.
    public let affectedRows: Int
    /// Every cell of every row, row-major; nil is SQL NULL.
    let cells: [String?]

    init(columns: [String], columnTypes: [PostgresType], cells: [String?], affectedRows: Int) {
        self.columns = columns
        self.columnTypes = columnTypes
        self.cells = cells
        self.affectedRows = affectedRows
    }

    static let empty = PostgresRows(columns: [], columnTypes: [], cells: [], affectedRows: 0)

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.isEmpty ? 0 : cells.count / columns.count }

    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    /// The index of the column named `name`.
    func columnIndex(_ name: String) throws -> Int {
        guard let index = columns.firstIndex(of: name) else {
            throw PostgresError(code: .decoding, message: "no column named \(name) (columns: \(columns.joined(separator: ", ")))")
        }
        return index
    }
}

/// One row of `PostgresRows`.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// Decodes the column at `column` (0-based) as `T`; use an Optional type for nullable columns.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard column >= 0, column < rows.columns.count else {
            throw PostgresError(code: .decoding, message: "column \(column) out of range (\(rows.columns.count) columns)")
        }
        let columnType = rows.columnTypes[column]
        let name = rows.columns[column]
        guard let text = rows.cells[index * rows.columns.count + column] else {
            return try T.decodeNull(column: name)
        }
        do {
            return try T.decode(postgresText: text, type: columnType)
        } catch let error as PostgresError {
            var error = error
            error.message = "column \(name): \(error.message)"
            throw error
        }
    }

    /// Decodes the column named `column` as `T`.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(try rows.columnIndex(column), as: type)
    }

    /// Whether the named column is NULL in this row.
    public func isNull(_ column: String) throws -> Bool {
        rows.cells[index * rows.columns.count + (try rows.columnIndex(column))] == nil
    }
}
