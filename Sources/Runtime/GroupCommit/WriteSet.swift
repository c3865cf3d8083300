/// The writes of one command (an order's rows, its outbox event, its jobs...), committed
/// together or not at all.
///
/// Two kinds of writes: `statements`, run as they are, in order, with their rows returned to
/// the submitter; and `rows` for `BatchedStatement`s, which the writer merges across every
/// write set of a batch into one statement per template (`INSERT ... SELECT FROM unnest`),
/// so that a thousand orders cost one INSERT per table instead of a thousand. In a batch,
/// the merged statements run first, in the order their templates first appear, then each
/// write set's own statements — those of write sets marked `readsAfterWrites` last.
public struct WriteSet: Sendable, Hashable {
    public var statements: [PostgresStatement]
    public private(set) var rows: [BatchedRow]
    /// A read ordered against the writer's commits: its statements run after every write of
    /// the transaction that carries them, so they see exactly the write sets committed in
    /// that transaction (`GroupCommit.Receipt.transaction`) and before it.
    public var readsAfterWrites: Bool

    public init(_ statements: [PostgresStatement] = [], rows: [BatchedRow] = [], readsAfterWrites: Bool = false) {
        self.statements = statements
        self.rows = rows
        self.readsAfterWrites = readsAfterWrites
    }

    public mutating func append(_ statement: PostgresStatement) {
        statements.append(statement)
    }

    /// Adds one row for `template`; `values` are its columns, in order.
    public mutating func append(_ values: [PostgresValue], to template: BatchedStatement) {
        precondition(values.count == template.columns, "\(template.sql): expected \(template.columns) values, got \(values.count)")
        rows.append(BatchedRow(template: template, values: values))
    }

    public mutating func append(contentsOf other: WriteSet) {
        statements.append(contentsOf: other.statements)
        rows.append(contentsOf: other.rows)
    }

    var isEmpty: Bool { statements.isEmpty && rows.isEmpty }
    /// Statements this write set adds to a batch (merged templates count once per batch;
    /// counted here per row group, an upper bound).
    var statementCount: Int { statements.count + Set(rows.map(\.template)).count }
}

/// A statement whose parameters are arrays, one per column, typically
/// `INSERT INTO t (a, b) SELECT * FROM unnest($1::uuid[], $2::int4[])`. Rows from many write
/// sets are merged into one execution. Each parameter must carry its array cast.
public struct BatchedStatement: Sendable, Hashable {
    /// How a batch may run the template together with others.
    public enum Fusion: Sendable, Hashable {
        /// Always its own statement.
        case alone
        /// A single INSERT, UPDATE or DELETE without a WITH of its own, whose effect no other
        /// template of a batch reads: the batch runs it as a data-modifying WITH query of one
        /// statement with the other fusable templates. Those share one snapshot and cannot see
        /// each other's rows (Postgres, "Data-Modifying Statements in WITH"), so a template
        /// whose rows another template of the same batch updates or reads must stay `alone`.
        case modification
        /// A SELECT run for its side effect (such as `pg_notify`): the main query of that
        /// statement.
        case result
    }

    public let sql: String
    public let columns: Int
    /// When set, a batch keeps only the first row of each value of this column (0-based):
    /// rows that say the same thing of one subject, once per commit (an event that carries
    /// state read at commit time, such as a product's stock level).
    public let coalescingColumn: Int?
    public let fusion: Fusion
    /// The SQL's hash, computed once: merging looks a template up once per row, and hashing
    /// a few hundred characters each time showed up in the order path.
    private let sqlHash: Int

    public init(_ sql: String, columns: Int, coalescingOn coalescingColumn: Int? = nil, fusion: Fusion = .alone) {
        precondition(coalescingColumn.map { (0..<columns).contains($0) } ?? true, "coalescing column out of range")
        precondition(Self.fits(sql, fusion), "a \(fusion) template must be one plain \(fusion == .result ? "SELECT" : "INSERT, UPDATE or DELETE"), without comments or backslashes: \(sql)")
        self.sql = sql
        self.columns = columns
        self.coalescingColumn = coalescingColumn
        self.fusion = fusion
        self.sqlHash = sql.hashValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sqlHash)
    }

    public static func == (lhs: BatchedStatement, rhs: BatchedStatement) -> Bool {
        lhs.sqlHash == rhs.sqlHash && lhs.columns == rhs.columns && lhs.coalescingColumn == rhs.coalescingColumn
            && lhs.fusion == rhs.fusion && lhs.sql == rhs.sql
    }

    /// The statement for `rows` (all of this template), one array parameter per column.
    func statement(for rows: [[PostgresValue]]) -> PostgresStatement {
        PostgresStatement(sql, parameters(for: rows))
    }

    func parameters(for rows: [[PostgresValue]]) -> [PostgresValue] {
        var arrays = Array(repeating: [PostgresValue](), count: columns)
        for column in 0..<columns { arrays[column].reserveCapacity(rows.count) }
        for row in rows {
            for column in 0..<columns { arrays[column].append(row[column]) }
        }
        return arrays.map { .array($0) }
    }

    /// `sql` with every parameter reference `$n` moved to `$(n + offset)`; quoted text
    /// (`'…'`, `"…"`) is copied as it is.
    func sql(shiftingParametersBy offset: Int) -> String {
        guard offset != 0 else { return sql }
        var shifted = ""
        shifted.reserveCapacity(sql.utf8.count + 16)
        var quote: Unicode.Scalar?
        var scalars = sql.unicodeScalars.makeIterator()
        var pending = scalars.next()
        while let scalar = pending {
            pending = scalars.next()
            shifted.unicodeScalars.append(scalar)
            if let open = quote {
                if scalar == open { quote = nil }
                continue
            }
            if scalar == "'" || scalar == "\"" {
                quote = scalar
                continue
            }
            guard scalar == "$", let first = pending, Self.digit(first) != nil else { continue }
            var number = 0
            while let digit = pending, let value = Self.digit(digit) {
                number = number * 10 + value
                pending = scalars.next()
            }
            shifted += String(number + offset)
        }
        return shifted
    }

    /// Whether `sql` can be fused as `fusion` says: the statement kind it needs, and nothing
    /// the parameter shifting cannot read (comments; backslash escapes of `E'…'` strings).
    private static func fits(_ sql: String, _ fusion: Fusion) -> Bool {
        let head = sql.drop { $0.isWhitespace }.prefix(6).uppercased()
        switch fusion {
        case .alone: return true
        case .modification: guard head == "INSERT" || head == "UPDATE" || head == "DELETE" else { return false }
        case .result: guard head == "SELECT" else { return false }
        }
        return !sql.contains("--") && !sql.contains("/*") && !sql.contains("\\")
    }

    private static func digit(_ scalar: Unicode.Scalar) -> Int? {
        (48...57).contains(scalar.value) ? Int(scalar.value - 48) : nil
    }
}

/// One row of a `BatchedStatement`.
public struct BatchedRow: Sendable, Hashable {
    public var template: BatchedStatement
    public var values: [PostgresValue]
}
