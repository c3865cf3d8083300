import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// Statements run prepared on their second use on a connection (one connection here, so
/// every statement meets the same cache). What a user relies on: the same answers and errors
/// as unprepared, whatever happened to the tables or the server's statements meanwhile.
@Suite("Prepared statements against a real server")
struct PreparedStatementTests {
    static func preparedTexts(_ db: PostgresClient) async throws -> [String] {
        try await db.query("SELECT statement FROM pg_prepared_statements").map { try $0.decode("statement", as: String.self) }
    }

    @Test func aStatementUsedTwiceIsPreparedAndAOneOffIsNot() async throws {
        try await TestServices.withSchema(poolSize: 1) { db, _ in
            for value in [1, 2] {
                let rows = try await db.query("SELECT $1::int4 + 1 AS n", [.int32(Int32(value))])
                #expect(try rows[0].decode("n", as: Int32.self) == Int32(value + 1))
            }
            try await db.query("SELECT $1::int4 + 2 AS once", [.int32(1)])
            let texts = try await Self.preparedTexts(db)
            #expect(texts.contains("SELECT $1::int4 + 1 AS n"))
            #expect(!texts.contains("SELECT $1::int4 + 2 AS once"))
            // Third use, by name: the same answer.
            #expect(try await db.query("SELECT $1::int4 + 1 AS n", [.int32(41)])[0].decode("n", as: Int32.self) == 42)
        }
    }

    /// `cached plan must not change result type`: the table grew a column under a prepared
    /// `SELECT *`. Unprepared, the statement simply answers with the new column; so must it here.
    @Test func aTableChangedUnderAPreparedStatementStillAnswers() async throws {
        try await TestServices.withSchema(poolSize: 1) { db, _ in
            try await db.execute(script: "CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
            for _ in 0..<3 { _ = try await db.query("SELECT * FROM t WHERE a = $1", [.int32(1)]) }
            for _ in 0..<3 { _ = try await db.pipeline([PostgresStatement("SELECT * FROM t WHERE a = $1", [.int32(1)])]) }
            try await db.execute(script: "ALTER TABLE t ADD COLUMN b text DEFAULT 'x'")
            let rows = try await db.query("SELECT * FROM t WHERE a = $1", [.int32(1)])
            #expect(try rows[0].decode("b", as: String.self) == "x")
            try await db.execute(script: "ALTER TABLE t ADD COLUMN c int DEFAULT 7")
            let piped = try await db.pipeline([PostgresStatement("SELECT * FROM t WHERE a = $1", [.int32(1)])])
            #expect(try piped[0][0].decode("c", as: Int32.self) == 7)
            // The statements the server still held under their old names went: a schema change
            // must not grow the server's statements past the cache's bound.
            for _ in 0..<3 { _ = try await db.query("SELECT * FROM t WHERE a = $1", [.int32(1)]) }
            let copies = try await Self.preparedTexts(db).filter { $0 == "SELECT * FROM t WHERE a = $1" }.count
            #expect(copies == 1)
        }
    }

    /// The server's prepared statements dropped behind the cache's back (`DEALLOCATE ALL`
    /// through an ordinary query): the next use still answers.
    @Test func statementsTheServerForgotArePreparedAgain() async throws {
        try await TestServices.withSchema(poolSize: 1) { db, _ in
            for _ in 0..<3 { _ = try await db.query("SELECT $1::text AS v", [.text("a")]) }
            #expect(try await Self.preparedTexts(db).contains("SELECT $1::text AS v"))
            try await db.query("DEALLOCATE ALL")
            #expect(try await db.query("SELECT $1::text AS v", [.text("b")])[0].decode("v", as: String.self) == "b")
            for _ in 0..<2 { _ = try await db.query("SELECT $1::text AS v", [.text("c")]) }
            #expect(try await Self.preparedTexts(db).contains("SELECT $1::text AS v"), "prepared again")
            try await db.execute(script: "DEALLOCATE ALL")
            #expect(try await db.pipeline([PostgresStatement("SELECT $1::text AS v", [.text("d")])])[0][0].decode("v", as: String.self) == "d")
        }
    }

    /// Inside a caller's transaction nothing is prepared (a failed Parse would abort it), and
    /// a stale prepared statement is not silently re-run there: the error reaches the caller,
    /// the transaction rolls back, and the connection works afterwards.
    @Test func insideATransactionTheCallersTransactionDecides() async throws {
        try await TestServices.withSchema(poolSize: 1) { db, _ in
            try await db.execute(script: "CREATE TABLE t (a int); INSERT INTO t VALUES (1)")
            try await db.withTransaction { transaction in
                for _ in 0..<3 { _ = try await transaction.query("SELECT a + $1 AS x FROM t", [.int32(1)]) }
            }
            #expect(try await !Self.preparedTexts(db).contains("SELECT a + $1 AS x FROM t"))
            for _ in 0..<2 { _ = try await db.query("SELECT * FROM t WHERE a = $1", [.int32(1)]) }
            try await db.execute(script: "ALTER TABLE t ADD COLUMN b int DEFAULT 2")
            await #expect(throws: PostgresError.self) {
                try await db.withTransaction { transaction in
                    try await transaction.query("INSERT INTO t VALUES (5)")
                    _ = try await transaction.query("SELECT * FROM t WHERE a = $1", [.int32(1)])
                }
            }
            #expect(try await db.query("SELECT count(*)::int4 AS n FROM t WHERE a = 5")[0].decode("n", as: Int32.self) == 0, "rolled back")
            #expect(try await db.query("SELECT * FROM t WHERE a = $1", [.int32(1)])[0].decode("b", as: Int32.self) == 2)
        }
    }
}
