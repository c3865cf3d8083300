import Foundation
import IntakeRuntime
import IntakeTestSupport
import Synchronization
import Testing

@Suite("Postgres client against a real server")
struct PostgresClientTests {
    @Test func everySupportedTypeRoundTrips() async throws {
        try await TestServices.withSchema { db, _ in
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_795_000_000.123456)
            let bytes: [UInt8] = [0, 1, 2, 0, 255, 0x5c, 0x78, 0]
            let text = "naïve café — 東京 🚀 'quoted' \"double\" \\ back"
            let rows = try await db.query(
                """
                SELECT $1::uuid AS u, $2::text AS t, $3::bool AS b, $4::int2 AS i2, $5::int4 AS i4, $6::int8 AS i8,
                       $7::numeric AS n, $8::timestamptz AS ts, $9::bytea AS by, $10::jsonb AS j,
                       $11::uuid[] AS ua, $12::int4[] AS ia, $13::text[] AS ta, $14::int8[] AS la,
                       $15::text AS nt, $16::uuid AS nu
                """,
                [
                    .uuid(id), .text(text), .bool(true), .int16(-32768), .int32(2_147_483_647), .int64(-9_000_000_000_000),
                    .numeric(Decimal(string: "12345678901234567890.05")!), .timestamptz(when), .bytea(bytes),
                    .jsonb(#"{"a": [1, "x"]}"#), .uuidArray([id, id]), .int32Array([1, -2, 3]),
                    .textArray(["a,b", "", "NULL", "quo\"te", "back\\slash", "{brace}", "東京"]), .int64Array([]),
                    .null, .null,
                ])
            #expect(rows.count == 1)
            let row = rows[0]
            #expect(try row.decode("u", as: UUID.self) == id)
            #expect(try row.decode("t", as: String.self) == text)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("i2", as: Int16.self) == -32768)
            #expect(try row.decode("i4", as: Int32.self) == 2_147_483_647)
            #expect(try row.decode("i8", as: Int64.self) == -9_000_000_000_000)
            #expect(try row.decode("n", as: Decimal.self) == Decimal(string: "12345678901234567890.05")!)
            let decodedDate = try row.decode("ts", as: Date.self)
            #expect(abs(decodedDate.timeIntervalSince1970 - when.timeIntervalSince1970) < 0.000_001)
            #expect(try row.decode("by", as: [UInt8].self) == bytes)
            #expect(try row.decode("j", as: String.self) == #"{"a": [1, "x"]}"#)
            #expect(try row.decode("ua", as: [UUID].self) == [id, id])
            #expect(try row.decode("ia", as: [Int32].self) == [1, -2, 3])
            #expect(try row.decode("ta", as: [String].self) == ["a,b", "", "NULL", "quo\"te", "back\\slash", "{brace}", "東京"])
            #expect(try row.decode("la", as: [Int64].self) == [])
            #expect(try row.decode("nt", as: String?.self) == nil)
            #expect(try row.decode("nu", as: UUID?.self) == nil)
            #expect(try row.isNull("nt"))
            // A NULL decoded as a non-optional type is an error, not a default value.
            #expect(throws: PostgresError.self) { try row.decode("nt", as: String.self) }
            // A type mismatch is an error, not a conversion.
            #expect(throws: PostgresError.self) { try row.decode("t", as: Int.self) }
        }
    }

    @Test func valuesSurviveAStoredRoundTrip() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE things (id uuid PRIMARY KEY, price numeric(12,2) NOT NULL, blob bytea, at timestamptz)")
            let id = UUID()
            try await db.query(
                "INSERT INTO things VALUES ($1, $2, $3, $4)",
                [.uuid(id), .numeric(Decimal(string: "0.10")!), .bytea([0, 0, 0]), .timestamptz(Date(timeIntervalSince1970: 0))])
            let row = try await db.query("SELECT * FROM things WHERE id = $1", [.uuid(id)])[0]
            #expect(try row.decode("price", as: Decimal.self) == Decimal(string: "0.1")!)
            #expect(try row.decode("price", as: String.self) == "0.10")
            #expect(try row.decode("blob", as: [UInt8].self) == [0, 0, 0])
            #expect(try row.decode("at", as: Date.self) == Date(timeIntervalSince1970: 0))
        }
    }

    /// Batched rows travel as binary arrays typed by their elements: every kind, NULLs among
    /// them, text no quoting could break, times to the microsecond on both sides of the
    /// epochs, a text array cast to numeric — unprepared and prepared alike.
    @Test func binaryArraysOfEveryKindRoundTripWithNulls() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query(
                """
                CREATE TABLE wide (n int PRIMARY KEY, u uuid, t text, b bool, s int2, i int4, l int8, at timestamptz,
                                   raw bytea, price numeric(12,2))
                """)
            let ids = [UUID(), UUID()]
            let texts = [#"a,"b"\{c}"#, "", "NULL", "東京 🚀"]
            let times = [Date(timeIntervalSince1970: -1_234_567.000_001), Date(timeIntervalSince1970: 946_684_799.999_999),
                         Date(timeIntervalSince1970: 1_795_000_000.123_456)]
            let insert = """
                INSERT INTO wide SELECT * FROM unnest($1::int4[], $2::uuid[], $3::text[], $4::bool[], $5::int2[], $6::int4[],
                    $7::int8[], $8::timestamptz[], $9::bytea[], $10::numeric[])
                """
            for round in 0..<3 {
                let base = Int32(round * 10)
                let count = 5
                func column(_ values: [PostgresValue]) -> PostgresValue { .array(values + Array(repeating: .null, count: count - values.count)) }
                try await db.query(insert, [
                    .array((0..<count).map { .int32(base + Int32($0)) }),
                    column([.null] + ids.map { .uuid($0) }),
                    column(texts.map { .text($0) }),
                    column([.bool(true), .null, .bool(false)]),
                    column([.int16(.min), .int16(.max)]),
                    column([.int32(.min), .null, .int32(.max)]),
                    column([.int64(.min), .int64(.max)]),
                    column(times.map { .timestamptz($0) }),
                    column([.bytea([0, 0x5C, 0x78, 0xFF]), .bytea([])]),
                    column([.text("3.10"), .text("-0.01")]),
                ])
                let rows = try await db.query("SELECT * FROM wide WHERE n >= $1 ORDER BY n", [.int32(base)])
                #expect(rows.count == count)
                #expect(try rows.map { try $0.decode("u", as: UUID?.self) } == [nil] + ids + [nil, nil])
                #expect(try rows.map { try $0.decode("t", as: String?.self) } == texts + [nil])
                #expect(try rows.map { try $0.decode("b", as: Bool?.self) } == [true, nil, false, nil, nil])
                #expect(try rows.map { try $0.decode("s", as: Int16?.self) } == [.min, .max, nil, nil, nil])
                #expect(try rows.map { try $0.decode("i", as: Int32?.self) } == [.min, nil, .max, nil, nil])
                #expect(try rows.map { try $0.decode("l", as: Int64?.self) } == [.min, .max, nil, nil, nil])
                let stored = try rows.prefix(3).map { try $0.decode("at", as: Date.self) }
                #expect(zip(stored, times).allSatisfy { abs($0.timeIntervalSince($1)) < 0.000_001 })
                #expect(try rows.map { try $0.decode("raw", as: [UInt8]?.self) } == [[0, 0x5C, 0x78, 0xFF], [], nil, nil, nil])
                #expect(try rows.map { try $0.decode("price", as: String?.self) } == ["3.10", "-0.01", nil, nil, nil])
            }
            // The times, as the server prints them: the microseconds sent are the ones stored.
            let printed = try await db.query("SELECT at::text AS at FROM wide WHERE n < 3 ORDER BY n").map { try $0.decode("at", as: String.self) }
            #expect(printed == ["1969-12-17 17:03:52.999999+00", "1999-12-31 23:59:59.999999+00", "2026-11-18 11:06:40.123456+00"])
            // No text value holds NUL: refused before anything is sent, naming the parameter.
            await #expect {
                try await db.query(insert, [.array([.int32(99)]), .array([.null]), .array([.text("a\u{0}b")]), .array([.null]),
                                            .array([.null]), .array([.null]), .array([.null]), .array([.null]), .array([.null]), .array([.null])])
            } throws: { error in
                (error as? PostgresError)?.code == .encoding && "\(error)".contains("$3")
            }
        }
    }

    @Test func bulkInsertThroughUnnest() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE items (id uuid PRIMARY KEY, qty int NOT NULL, name text NOT NULL)")
            let ids = (0..<1000).map { _ in UUID() }
            let result = try await db.query(
                "INSERT INTO items SELECT * FROM unnest($1::uuid[], $2::int4[], $3::text[])",
                [.uuidArray(ids), .int32Array((0..<1000).map { Int32($0) }), .textArray((0..<1000).map { "item, \"\($0)\"" })])
            #expect(result.affectedRows == 1000)
            let row = try await db.query("SELECT count(*) AS n, sum(qty) AS total FROM items")[0]
            #expect(try row.decode("n", as: Int.self) == 1000)
            #expect(try row.decode("total", as: Int.self) == 499_500)
            let named = try await db.query("SELECT name FROM items WHERE id = $1", [.uuid(ids[7])])
            #expect(try named[0].decode("name", as: String.self) == "item, \"7\"")
        }
    }

    @Test func pipelineOfAThousandStatementsReturnsEveryResult() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE log (n int PRIMARY KEY)")
            var statements = (0..<1000).map { PostgresStatement("INSERT INTO log VALUES ($1) RETURNING n * 2 AS doubled", [.int32(Int32($0))]) }
            statements.append(PostgresStatement("SELECT count(*) AS n FROM log"))
            let results = try await db.pipeline(statements)
            #expect(results.count == 1001)
            for index in 0..<1000 {
                #expect(try results[index][0].decode("doubled", as: Int.self) == index * 2)
            }
            // The last statement sees the first thousand: one transaction, in order.
            #expect(try results[1000][0].decode("n", as: Int.self) == 1000)
        }
    }

    @Test func failingPipelineStatementRollsBackTheWholeBatch() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE log (n int PRIMARY KEY)")
            let error = await expectPostgresError {
                _ = try await db.pipeline([
                    PostgresStatement("INSERT INTO log VALUES (1)"),
                    PostgresStatement("INSERT INTO log VALUES (2)"),
                    PostgresStatement("INSERT INTO log VALUES (1)"),
                    PostgresStatement("INSERT INTO log VALUES (3)"),
                ])
            }
            #expect(error?.code == .uniqueViolation)
            #expect(error?.statementIndex == 2)
            #expect(error?.constraint == "log_pkey")
            let count = try await db.query("SELECT count(*) AS n FROM log")[0].decode("n", as: Int.self)
            #expect(count == 0)
            // The connection is still usable for the next batch.
            let results = try await db.pipeline([PostgresStatement("INSERT INTO log VALUES (5) RETURNING n")])
            #expect(try results[0][0].decode("n", as: Int.self) == 5)
        }
    }

    @Test func largePipelineWithBigParametersDoesNotDeadlock() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE blobs (n int PRIMARY KEY, body text NOT NULL)")
            // ~20 MB each way: far past both sides' socket buffers.
            let body = String(repeating: "x", count: 10_000)
            let statements = (0..<2000).map { PostgresStatement("INSERT INTO blobs VALUES ($1, $2) RETURNING body", [.int32(Int32($0)), .text(body)]) }
            let results = try await db.pipeline(statements)
            #expect(results.count == 2000)
            #expect(try results[1999][0].decode("body", as: String.self).count == 10_000)
        }
    }

    @Test func transactionRollsBackWhenTheBodyThrows() async throws {
        struct Boom: Error {}
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE t (n int)")
            await #expect(throws: Boom.self) {
                try await db.withTransaction { tx in
                    try await tx.query("INSERT INTO t VALUES (1)")
                    throw Boom()
                }
            }
            try await db.withTransaction(.serializable) { tx in
                try await tx.query("INSERT INTO t VALUES (2)")
            }
            let values = try await db.query("SELECT n FROM t").map { try $0.decode("n", as: Int.self) }
            #expect(values == [2])
        }
    }

    @Test func transactionWithACaughtStatementErrorDoesNotPretendToCommit() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE t (n int PRIMARY KEY)")
            let error = await expectPostgresError {
                try await db.withTransaction { tx in
                    try await tx.query("INSERT INTO t VALUES (1)")
                    _ = try? await tx.query("INSERT INTO t VALUES (1)")
                }
            }
            #expect(error != nil)
            let count = try await db.query("SELECT count(*) AS n FROM t")[0].decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    @Test func integrityErrorsSurfaceAsTheirCodes() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE users (email text CONSTRAINT users_email_key UNIQUE, age int CONSTRAINT age_positive CHECK (age > 0))")
            try await db.query("INSERT INTO users VALUES ('a@example.com', 1)")
            let unique = await expectPostgresError { try await db.query("INSERT INTO users VALUES ('a@example.com', 2)") }
            #expect(unique?.code == .uniqueViolation)
            #expect(unique?.sqlState == "23505")
            #expect(unique?.constraint == "users_email_key")
            let check = await expectPostgresError { try await db.query("INSERT INTO users VALUES ('b@example.com', -1)") }
            #expect(check?.code == .checkViolation)
            #expect(check?.constraint == "age_positive")
            let syntax = await expectPostgresError { try await db.query("SELEC 1") }
            #expect(syntax?.code == .sqlError)
            #expect(syntax?.sqlState == "42601")
        }
    }

    @Test func serializationFailureIsRetryable() async throws {
        try await TestServices.withSchema(poolSize: 2) { db, _ in
            try await db.query("CREATE TABLE counter (id int PRIMARY KEY, n int)")
            try await db.query("INSERT INTO counter VALUES (1, 0)")
            let error = await expectPostgresError {
                try await db.withTransaction(.repeatableRead) { first in
                    _ = try await first.query("SELECT n FROM counter WHERE id = 1")
                    try await db.query("UPDATE counter SET n = n + 1 WHERE id = 1")
                    try await first.query("UPDATE counter SET n = n + 1 WHERE id = 1")
                }
            }
            #expect(error?.code == .serializationFailure)
            #expect(error?.isRetryable == true)
        }
    }

    @Test func twoHundredConcurrentTasksShareAPoolOfFour() async throws {
        try await TestServices.withSchema(poolSize: 4, leaseTimeout: .seconds(30)) { db, _ in
            try await db.query("CREATE TABLE hits (task int PRIMARY KEY, backend int)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<200 {
                    group.addTask {
                        try await db.query("INSERT INTO hits VALUES ($1, pg_backend_pid())", [.int32(Int32(task))])
                    }
                }
                try await group.waitForAll()
            }
            let row = try await db.query("SELECT count(*) AS n, count(DISTINCT backend) AS backends FROM hits")[0]
            #expect(try row.decode("n", as: Int.self) == 200)
            #expect(try row.decode("backends", as: Int.self) <= 4)
        }
    }

    @Test func exhaustedPoolTimesOutWithAClearError() async throws {
        try await TestServices.withSchema(poolSize: 1, leaseTimeout: .milliseconds(200)) { db, _ in
            let holding = Mutex(false)
            try await db.withConnection { session in
                try await session.query("SELECT 1")
                holding.withLock { $0 = true }
                let error = await expectPostgresError { try await db.query("SELECT 1") }
                #expect(error?.code == .poolTimeout)
                #expect(error?.isUnavailable == true)
            }
            #expect(holding.withLock { $0 })
            // Released: the pool serves again.
            #expect(try await db.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test func brokenConnectionsAreReplacedTransparently() async throws {
        try await TestServices.withSchema(poolSize: 2) { db, configuration in
            let pids = try await db.withConnection { first in
                try await db.withConnection { second in
                    [try await first.backendPID(), try await second.backendPID()]
                }
            }
            let admin = PostgresClient(configuration: try PostgresConfiguration(url: configuration.url, poolSize: 1))
            defer { admin.shutdown() }
            try await admin.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int4[]) AS pid", [.int32Array(pids)])
            // pg_terminate_backend only signals: wait until both backends are gone, so that
            // the connections are dead while idle (as after a server restart).
            try await waitUntil("the backends have exited") {
                try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)", [.int32Array(pids)])[0]
                    .decode("n", as: Int.self) == 0
            }
            // Both pooled connections are dead; callers never see it.
            for _ in 0..<4 {
                #expect(try await db.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
            }
        }
    }

    /// After a restart or a failover, the pid of the process that ran a lost commit can belong
    /// to someone else's session: settling names the process by pid and start time, and leaves
    /// another process with the same pid alone.
    @Test func settlingALostCommitEndsOnlyTheProcessThatRanIt() async throws {
        try await TestServices.withSchema(poolSize: 2) { db, configuration in
            let admin = PostgresClient(configuration: try PostgresConfiguration(url: configuration.url, poolSize: 1))
            defer { admin.shutdown() }
            try await db.withConnection { bystander in
                let pid = try await bystander.backendPID()
                let started = try await bystander.query("SELECT backend_start::text AS s FROM pg_stat_activity WHERE pid = pg_backend_pid()")[0]
                    .decode("s", as: String.self)
                // The same pid, another start: a process of an earlier server life.
                try await admin.settle(PostgresBackend(pid: pid, startedAt: "2000-01-01 00:00:00+00"))
                #expect(try await bystander.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1, "the bystander lives")
                // The process itself: ended, and gone when settle returns.
                try await admin.settle(PostgresBackend(pid: pid, startedAt: started))
                #expect(try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", [.int32(pid)])[0]
                    .decode("n", as: Int.self) == 0)
            }
        }
    }

    @Test func unreachableServerIsUnavailableNotAHang() async throws {
        let client = PostgresClient(configuration: try PostgresConfiguration(url: "postgres://postgres@127.0.0.1:1/postgres", poolSize: 1))
        defer { client.shutdown() }
        let error = await expectPostgresError { try await client.query("SELECT 1") }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("127.0.0.1") == true)
    }

    @Test func invalidURLIsRejectedUpFront() {
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "postgres://localhost/db?nosuchoption=1") }
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "not a url") }
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "postgres://localhost/db", poolSize: 0) }
    }

    @Test func notificationsArriveAndSurviveAKilledListenerConnection() async throws {
        try await TestServices.withSchema { db, _ in
            let channel = "intake_test_\(UUID().uuidString.prefix(8).lowercased())"
            var events = db.listener(channels: [channel]).makeAsyncIterator()
            #expect(await events.next() == .listening)
            try await db.query("SELECT pg_notify($1, 'first')", [.text(channel)])
            guard case .notification(let first)? = await events.next() else {
                Issue.record("no notification")
                return
            }
            #expect(first.channel == channel)
            #expect(first.payload == "first")
            // Kill the listener's backend: the listener reconnects and listens again.
            try await db.query("SELECT pg_terminate_backend($1)", [.int32(try await listenerPID(db, channel))])
            #expect(await events.next() == .listening)
            try await db.query("SELECT pg_notify($1, 'second')", [.text(channel)])
            guard case .notification(let second)? = await events.next() else {
                Issue.record("no notification after reconnect")
                return
            }
            #expect(second.payload == "second")
        }
    }

    /// The backend that LISTENs on `channel` (the listener's connection).
    private func listenerPID(_ db: PostgresClient, _ channel: String) async throws -> Int32 {
        let rows = try await db.query(
            "SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()",
            [.text("LISTEN \(quoteIdentifier(channel))")])
        return try rows[0].decode("pid", as: Int32.self)
    }

    /// A statement the server leaves unanswered (it waits for a lock held for minutes, its
    /// backend is stopped) fails with `connectionLost` after the I/O timeout, and the next
    /// statement goes on a new connection. Before, `PQexec` blocked for as long as the server
    /// did (a request held 200 s by a 200 s table lock; hostile review, session 16): here the
    /// read was answered when the holder's 10 s ended.
    ///
    /// `preparedOnThisUse`: the statement's second use on its connection, which prepares it
    /// first; the preparation is what the server leaves unanswered (parsing waits for the
    /// table's lock). A timed-out preparation had closed the connection, the error was
    /// dropped, and the statement was then sent on the freed handle.
    @Test(arguments: [false, true])
    func aStatementTheServerLeavesUnansweredTimesOut(preparedOnThisUse: Bool) async throws {
        try await TestServices.withSchema(poolSize: 2, ioTimeout: .seconds(2)) { db, configuration in
            try await db.query("CREATE TABLE held (id int)")
            var patient = configuration
            patient.ioTimeout = .seconds(60)
            let other = PostgresClient(configuration: patient)
            defer { other.shutdown() }
            let read = "SELECT count(*) FROM held"
            try await db.withConnection { session in
                // The statement's first use on this connection, before the lock: the next one prepares it.
                if preparedOnThisUse { _ = try await session.query(read) }
                let holder = Task {
                    try await other.withTransaction { transaction in
                        try await transaction.query("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
                        try await transaction.query("SELECT pg_sleep(10)")
                    }
                }
                try await waitUntil("the table is locked") {
                    try await !other.query(
                        "SELECT 1 FROM pg_locks WHERE relation = 'held'::regclass AND mode = 'AccessExclusiveLock' AND granted").isEmpty
                }
                do {
                    _ = try await session.query(read)
                    Issue.record("the read waited for the lock to be released")
                } catch let error as PostgresError {
                    #expect(error.code == .connectionLost, "\(error)")
                    #expect(error.message.contains("no answer from the server within"))
                }
                try await holder.value
            }
            #expect(try await db.query("SELECT count(*)::int AS n FROM held")[0].decode("n", as: Int.self) == 0)
        }
    }
}
