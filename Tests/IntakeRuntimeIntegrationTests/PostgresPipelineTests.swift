import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Transactions queued behind each other on one connection")
struct PostgresPipelineTests {
    /// `batch`'s error, or nil (an issue recorded) when it committed.
    func failure(of batch: PostgresPipeline.Batch, sourceLocation: SourceLocation = #_sourceLocation) async -> PostgresError? {
        switch await batch.outcome() {
        case .failure(let error as PostgresError): return error
        case .failure(let error):
            Issue.record("not a PostgresError: \(error)", sourceLocation: sourceLocation)
            return nil
        case .success:
            Issue.record("the batch committed", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Batches sent without waiting for each other go on one connection in the order sent;
    /// the server runs each only once the one before has committed, so each sees every
    /// earlier batch's writes.
    @Test func batchesCommitInTheOrderSentAndEachSeesTheOnesBefore() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE gate (id int PRIMARY KEY, v int NOT NULL)")
            try await db.query("CREATE TABLE marks (n int PRIMARY KEY)")
            try await db.query("INSERT INTO gate VALUES (1, 0)")
            let pipeline = PostgresPipeline(client: db)
            defer { pipeline.close() }
            let batches = try await db.withTransaction { other in
                try await other.query("UPDATE gate SET v = 1 WHERE id = 1")
                let otherPID = try await other.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
                let first = pipeline.send([
                    PostgresStatement("UPDATE gate SET v = v + 10 WHERE id = 1"),
                    PostgresStatement("INSERT INTO marks VALUES (1)"),
                ])
                // The session takes batches while one is in flight: this one, refused before
                // anything of it is sent, is done while the first still waits.
                let refused = pipeline.send([PostgresStatement("INSERT INTO marks VALUES (length($1))", [.text("nul\u{0}")])])
                let behind = (2...4).map { n in
                    pipeline.send([
                        PostgresStatement("INSERT INTO marks VALUES ($1)", [.int32(Int32(n))]),
                        PostgresStatement("SELECT coalesce(array_agg(n ORDER BY n), '{}')::text AS seen, pg_backend_pid() AS pid FROM marks"),
                    ])
                }
                try await waitUntil("the first batch waits for the gate row") {
                    try await db.query(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [.int32(Int32(otherPID))]
                    )[0].decode("n", as: Int.self) == 1
                }
                let ranAhead = behind.filter(\.isComplete).count
                #expect(ranAhead == 0, "nothing runs ahead of the batch in front")
                try await waitUntil("a batch queued behind the waiting one is taken") { refused.isComplete }
                #expect(!first.isComplete)
                let marks = try await other.query("SELECT count(*) AS n FROM marks")[0].decode("n", as: Int.self)
                #expect(marks == 0)
                return (first, behind)
            }
            _ = try await batches.0.outcome().get()
            var pids: Set<Int> = []
            for (index, batch) in batches.1.enumerated() {
                let rows = try await batch.outcome().get()
                let seen = try rows[1][0].decode("seen", as: String.self)
                #expect(seen == "{" + (1...index + 2).map(String.init).joined(separator: ",") + "}")
                pids.insert(try rows[1][0].decode("pid", as: Int.self))
            }
            #expect(pids.count == 1, "one connection")
            #expect(try await db.query("SELECT v FROM gate")[0].decode("v", as: Int.self) == 11)
        }
    }

    /// A batch whose statement fails rolls back alone: the batches before and behind it
    /// commit, and its error names the failing statement.
    @Test func aFailingBatchFailsAloneAndTheOnesBehindItCommit() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE marks (n int PRIMARY KEY)")
            let pipeline = PostgresPipeline(client: db)
            defer { pipeline.close() }
            let first = pipeline.send([PostgresStatement("INSERT INTO marks VALUES (1)")])
            let failing = pipeline.send([
                PostgresStatement("INSERT INTO marks VALUES (2)"),
                PostgresStatement("INSERT INTO marks VALUES (1)"),
            ])
            let last = pipeline.send([PostgresStatement("INSERT INTO marks VALUES (3)")])
            _ = try await first.outcome().get()
            let error = try #require(await failure(of: failing))
            #expect(error.code == .uniqueViolation)
            #expect(error.statementIndex == 1)
            _ = try await last.outcome().get()
            let marks = try await db.query("SELECT array_agg(n ORDER BY n)::text AS n FROM marks")[0].decode("n", as: String.self)
            #expect(marks == "{1,3}", "the failed batch's first insert rolled back with it")
        }
    }

    /// A batch with a value Postgres text cannot hold is refused before any of it is sent:
    /// nothing of it runs, and the batches around it are untouched.
    @Test func aBatchThatCannotBeSentIsRefusedWhole() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE notes (n int PRIMARY KEY, note text)")
            let pipeline = PostgresPipeline(client: db)
            defer { pipeline.close() }
            let refused = pipeline.send([
                PostgresStatement("INSERT INTO notes VALUES (1, 'fine')"),
                PostgresStatement("INSERT INTO notes VALUES (2, $1)", [.text("nul\u{0}inside")]),
            ])
            let behind = pipeline.send([PostgresStatement("INSERT INTO notes VALUES (3, 'behind')")])
            let error = try #require(await failure(of: refused))
            #expect(error.code == .encoding)
            #expect(error.statementIndex == 1)
            _ = try await behind.outcome().get()
            #expect(try await db.query("SELECT array_agg(n)::text AS n FROM notes")[0].decode("n", as: String.self) == "{3}")
        }
    }

    /// The connection dies with batches in flight: each of them fails with `connectionLost`
    /// (it may have committed), and the next batch goes on a new connection.
    @Test func aLostConnectionFailsTheBatchesInFlightAndTheNextGoesOnANewOne() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE gate (id int PRIMARY KEY, v int NOT NULL)")
            try await db.query("INSERT INTO gate VALUES (1, 0)")
            let pipeline = PostgresPipeline(client: db)
            defer { pipeline.close() }
            let (inFlight, terminated) = try await db.withTransaction { other in
                try await other.query("UPDATE gate SET v = 1 WHERE id = 1")
                let otherPID = try await other.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
                let batches = [
                    pipeline.send([PostgresStatement("UPDATE gate SET v = v + 10 WHERE id = 1")]),
                    pipeline.send([PostgresStatement("SELECT 1")]),
                ]
                var blocked: Int?
                try await waitUntil("the first batch waits for the gate row") {
                    blocked = try await db.query(
                        "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [.int32(Int32(otherPID))]
                    ).first?.decode("pid", as: Int.self)
                    return blocked != nil
                }
                let pipelinePID = try #require(blocked)
                try await db.query("SELECT pg_terminate_backend($1)", [.int32(Int32(pipelinePID))])
                return (batches, pipelinePID)
            }
            for batch in inFlight {
                #expect(await failure(of: batch)?.code == .connectionLost)
            }
            let after = try await pipeline.send([PostgresStatement("SELECT pg_backend_pid() AS pid")]).outcome().get()[0][0]
                .decode("pid", as: Int.self)
            #expect(after != terminated)
            #expect(try await db.query("SELECT v FROM gate")[0].decode("v", as: Int.self) == 1, "the lost batch did not commit")
        }
    }

    /// A server that stops answering is given up on after the I/O timeout even while batches
    /// keep arriving: each wakes the session's wait, and before, each restarted its clock, so
    /// under a steady load the session waited for the stalled statement for ever (here until
    /// its 30 s sleep ended, and the batch committed).
    @Test func aStalledServerTimesOutWhileBatchesKeepArriving() async throws {
        try await TestServices.withSchema(ioTimeout: .seconds(2)) { db, _ in
            let pipeline = PostgresPipeline(client: db)
            defer { pipeline.close() }
            let stalled = pipeline.send([PostgresStatement("SELECT pg_sleep(30)")])
            let arrivals = Task {
                while !stalled.isComplete, !Task.isCancelled {
                    _ = pipeline.send([PostgresStatement("SELECT 1")])
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            defer { arrivals.cancel() }
            #expect(await failure(of: stalled)?.code == .connectionLost)
        }
    }

    /// The session's connection dies while it waits for work (a restart, a terminated
    /// backend): the next batch finds out before sending anything and goes on a new
    /// connection, whether its statement runs unnamed or is due to be prepared on this use
    /// (its second). Before, the first failed with `connectionLost` though nothing was sent,
    /// and the second was never completed: its caller, and the group-commit writer behind it,
    /// waited for ever.
    @Test(arguments: [false, true])
    func aConnectionLostWhileIdleCostsTheNextBatchNothing(secondUse: Bool) async throws {
        try await TestServices.withSchema { db, _ in
            let pipeline = PostgresPipeline(client: db, linger: .seconds(30))
            defer { pipeline.close() }
            let statement = PostgresStatement("SELECT pg_backend_pid() AS pid, $1::int AS n", [.int32(1)])
            let before = try await pipeline.send([statement]).outcome().get()[0][0].decode("pid", as: Int.self)
            try await db.query("SELECT pg_terminate_backend($1)", [.int32(Int32(before))])
            try await waitUntil("the backend has exited") {
                try await db.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", [.int32(Int32(before))])[0]
                    .decode("n", as: Int.self) == 0
            }
            let next = pipeline.send([secondUse ? statement : PostgresStatement("SELECT pg_backend_pid() AS pid, 2 AS n")])
            try await waitUntil("the batch is completed") { next.isComplete }
            let rows = try await next.outcome().get()
            #expect(try rows[0][0].decode("pid", as: Int.self) != before)
        }
    }

    /// A statement due to be prepared (its second use) while a batch is in flight waits for
    /// the pipeline to empty and is prepared then: under a load that keeps the pipeline full,
    /// it would otherwise run unprepared (parsed and planned every time) for good.
    @Test func aStatementDueWhileBatchesAreInFlightIsPrepared() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE gate (id int PRIMARY KEY, v int NOT NULL)")
            try await db.query("INSERT INTO gate VALUES (1, 0)")
            let pipeline = PostgresPipeline(client: db, linger: .seconds(30))
            defer { pipeline.close() }
            let statement = PostgresStatement("SELECT $1::int + 1 AS n, pg_backend_pid() AS pid", [.int32(1)])
            _ = try await pipeline.send([statement]).outcome().get()
            let (gated, second) = try await db.withTransaction { other in
                try await other.query("UPDATE gate SET v = 1 WHERE id = 1")
                let otherPID = try await other.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
                let gated = pipeline.send([PostgresStatement("UPDATE gate SET v = v + 10 WHERE id = 1")])
                try await waitUntil("the gated batch waits for the row") {
                    try await db.query(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [.int32(Int32(otherPID))]
                    )[0].decode("n", as: Int.self) == 1
                }
                return (gated, pipeline.send([statement]))
            }
            _ = try await gated.outcome().get()
            let rows = try await second.outcome().get()
            #expect(try rows[0][0].decode("n", as: Int.self) == 2)
            let check = try await pipeline.send([
                PostgresStatement("SELECT count(*) AS n, pg_backend_pid() AS pid FROM pg_prepared_statements WHERE statement = $1", [.text(statement.sql)]),
            ]).outcome().get()
            #expect(try check[0][0].decode("pid", as: Int.self) == (try rows[0][0].decode("pid", as: Int.self)), "one session throughout")
            #expect(try check[0][0].decode("n", as: Int.self) == 1)
        }
    }
}
