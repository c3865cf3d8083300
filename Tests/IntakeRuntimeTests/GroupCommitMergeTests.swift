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
}
