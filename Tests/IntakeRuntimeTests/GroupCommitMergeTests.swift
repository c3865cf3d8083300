@testable import IntakeRuntime
import Testing

@Suite("Group commit: merging a batch's rows")
struct GroupCommitMergeTests {
    static let plain = BatchedStatement("INSERT INTO t SELECT * FROM unnest($1::int4[], $2::text[])", columns: 2)
    static let coalescing = BatchedStatement("INSERT INTO c SELECT * FROM unnest($1::text[], $2::int4[])", columns: 2, coalescingOn: 1)

    static func writeSet(_ rows: [(BatchedStatement, [PostgresValue])]) -> WriteSet {
        var writeSet = WriteSet()
        for (template, values) in rows { writeSet.append(values, to: template) }
        return writeSet
    }

    /// Rows of every write set in one statement per template, templates in the order they
    /// first appear; of a coalescing template, the first row per value of its column.
    @Test func rowsMergePerTemplateAndCoalesceOnTheirColumn() {
        let merged = GroupCommit.mergedStatements([
            Self.writeSet([(Self.plain, [.int32(1), .text("a")]), (Self.coalescing, [.text("first of 7"), .int32(7)])]),
            Self.writeSet([(Self.coalescing, [.text("second of 7"), .int32(7)]), (Self.plain, [.int32(2), .text("b")])]),
            Self.writeSet([(Self.coalescing, [.text("first of 8"), .int32(8)]), (Self.coalescing, [.text("third of 7"), .int32(7)])]),
        ])
        #expect(merged.map(\.sql) == [Self.plain.sql, Self.coalescing.sql])
        #expect(merged[0].parameters == [.array([.int32(1), .int32(2)]), .array([.text("a"), .text("b")])])
        #expect(merged[1].parameters == [.array([.text("first of 7"), .text("first of 8")]), .array([.int32(7), .int32(8)])])
    }

    static let orders = BatchedStatement("INSERT INTO o SELECT * FROM unnest($1::int4[], $2::text[])", columns: 2, fusion: .modification)
    static let stock = BatchedStatement("UPDATE s SET n = n - d.n FROM unnest($1::int4[]) AS d(n) WHERE s.id = d.n", columns: 1, fusion: .modification)
    static let wake = BatchedStatement("SELECT pg_notify('c', '') FROM unnest($1::int4[])", columns: 1, fusion: .result)

    /// The fusable templates of a batch become one statement at the place of the first, their
    /// parameters in template order; the others stay as they were, in their order.
    @Test func fusableTemplatesBecomeOneStatement() {
        let merged = GroupCommit.mergedStatements([
            Self.writeSet([(Self.plain, [.int32(1), .text("a")]), (Self.orders, [.int32(10), .text("x")]), (Self.wake, [.int32(1)])]),
            Self.writeSet([(Self.stock, [.int32(5)]), (Self.orders, [.int32(11), .text("y")]), (Self.wake, [.int32(1)])]),
        ])
        #expect(merged.map(\.sql) == [
            Self.plain.sql,
            "WITH m1 AS (UPDATE s SET n = n - d.n FROM unnest($3::int4[]) AS d(n) WHERE s.id = d.n), "
                + "m0 AS (INSERT INTO o SELECT * FROM unnest($1::int4[], $2::text[])) "
                + "SELECT pg_notify('c', '') FROM unnest($4::int4[])",
        ])
        #expect(merged[1].parameters == [
            .array([.int32(10), .int32(11)]), .array([.text("x"), .text("y")]), .array([.int32(5)]), .array([.int32(1), .int32(1)]),
        ])
        // Without a result template the fused statement selects nothing of its own.
        let modificationsOnly = GroupCommit.mergedStatements([Self.writeSet([(Self.orders, [.int32(1), .text("x")]), (Self.stock, [.int32(2)])])])
        #expect(modificationsOnly.map(\.sql) == [
            "WITH m1 AS (UPDATE s SET n = n - d.n FROM unnest($3::int4[]) AS d(n) WHERE s.id = d.n), "
                + "m0 AS (INSERT INTO o SELECT * FROM unnest($1::int4[], $2::text[])) SELECT 1",
        ])
        // A lone fusable template runs as it is.
        let alone = GroupCommit.mergedStatements([Self.writeSet([(Self.plain, [.int32(1), .text("a")]), (Self.wake, [.int32(1)])])])
        #expect(alone.map(\.sql) == [Self.plain.sql, Self.wake.sql])
    }

    /// The fused text is kept per sequence of templates: the same templates in another
    /// order number their parameters (and list their queries) in that order, and a repeat
    /// gives the text again.
    @Test func fusedTextFollowsTheTemplatesOrder() {
        let stockFirst = GroupCommit.mergedStatements([Self.writeSet([(Self.stock, [.int32(2)]), (Self.orders, [.int32(1), .text("x")])])])
        #expect(stockFirst.map(\.sql) == [
            "WITH m1 AS (INSERT INTO o SELECT * FROM unnest($2::int4[], $3::text[])), "
                + "m0 AS (UPDATE s SET n = n - d.n FROM unnest($1::int4[]) AS d(n) WHERE s.id = d.n) SELECT 1",
        ])
        #expect(stockFirst[0].parameters == [.array([.int32(2)]), .array([.int32(1)]), .array([.text("x")])])
        let ordersFirst = GroupCommit.mergedStatements([Self.writeSet([(Self.orders, [.int32(1), .text("x")]), (Self.stock, [.int32(2)])])])
        #expect(ordersFirst.map(\.sql) == [
            "WITH m1 AS (UPDATE s SET n = n - d.n FROM unnest($3::int4[]) AS d(n) WHERE s.id = d.n), "
                + "m0 AS (INSERT INTO o SELECT * FROM unnest($1::int4[], $2::text[])) SELECT 1",
        ])
        let again = GroupCommit.mergedStatements([Self.writeSet([(Self.stock, [.int32(7)]), (Self.orders, [.int32(8), .text("y")])])])
        #expect(again.map(\.sql) == stockFirst.map(\.sql))
        #expect(again[0].parameters == [.array([.int32(7)]), .array([.int32(8)]), .array([.text("y")])])
    }

    /// Parameter references move by the offset, whatever their number of digits; a `$` not
    /// followed by a digit (dollar quoting) and quoted text are left alone.
    @Test func parameterReferencesShift() {
        let template = BatchedStatement("SELECT $1, $10, $2::text, $$a$$, 'x$1', \"a$1\", 'it''s $2', $3", columns: 10)
        #expect(template.sql(shiftingParametersBy: 0) == template.sql)
        #expect(template.sql(shiftingParametersBy: 95) == "SELECT $96, $105, $97::text, $$a$$, 'x$1', \"a$1\", 'it''s $2', $98")
    }
}
