import Foundation
import IntakeRuntime
import IntakeTestSupport
import Synchronization
import Testing

@Suite("Group commit against a real server")
struct GroupCommitTests {
    @Test func thousandConcurrentSubmittersShareFewTransactions() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE orders (id uuid PRIMARY KEY, n int NOT NULL)")
            try await db.query("CREATE TABLE events (order_id uuid NOT NULL, n int NOT NULL)")
            let writer = GroupCommit(client: db)
            let ids = (0..<1000).map { _ in UUID() }
            try await withRunningServices([writer]) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (n, id) in ids.enumerated() {
                        group.addTask {
                            let results = try await writer.submit(WriteSet([
                                PostgresStatement("INSERT INTO orders VALUES ($1, $2) RETURNING n", [.uuid(id), .int32(Int32(n))]),
                                PostgresStatement("INSERT INTO events VALUES ($1, $2)", [.uuid(id), .int32(Int32(n))]),
                            ]))
                            // Each submitter gets its own statements' results.
                            let returned = try results[0][0].decode("n", as: Int.self)
                            if returned != n { throw MismatchedResult(expected: n, got: returned) }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let orders = try await db.query("SELECT count(*) AS n FROM orders")[0].decode("n", as: Int.self)
            let events = try await db.query("SELECT count(*) AS n FROM events")[0].decode("n", as: Int.self)
            #expect(orders == 1000)
            #expect(events == 1000)
            #expect(writer.transactionsCommitted < 200, "\(writer.transactionsCommitted) transactions for 1000 write sets")
        }
    }

    /// A `readsAfterWrites` write set sees exactly the writes of the transactions numbered up
    /// to its own — those of its own batch included, wherever it was queued among them — so
    /// a transaction number tells its reader which commits it saw (`StockShard.resync`).
    @Test func aReadAfterWritesSeesExactlyTheTransactionsNumberedUpToItsOwn() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE marks (n int PRIMARY KEY)")
            let writer = GroupCommit(client: db)
            try await withRunningServices([writer]) {
                try await withThrowingTaskGroup(of: (write: Int?, read: (transaction: Int, seen: Set<Int>)?).self) { group in
                    for n in 0..<600 {
                        group.addTask {
                            if n % 3 == 0 {
                                let receipt = try await writer.commit(WriteSet([PostgresStatement("SELECT n FROM marks")], readsAfterWrites: true))
                                return (nil, (receipt.transaction, Set(try receipt.rows[0].map { try $0.decode("n", as: Int.self) })))
                            }
                            // Batched rows run first in a batch anyway; statements run in queue order.
                            var writeSet = WriteSet()
                            if n % 2 == 0 {
                                writeSet.append([.int32(Int32(n))], to: Self.insertMark)
                            } else {
                                writeSet.append(PostgresStatement("INSERT INTO marks VALUES ($1)", [.int32(Int32(n))]))
                            }
                            let receipt = try await writer.commit(writeSet)
                            return ((receipt.transaction << 16) | n, nil)
                        }
                    }
                    var writes: [(transaction: Int, n: Int)] = []
                    var reads: [(transaction: Int, seen: Set<Int>)] = []
                    for try await result in group {
                        if let write = result.write { writes.append((write >> 16, write & 0xFFFF)) }
                        if let read = result.read { reads.append(read) }
                    }
                    var sameBatch = 0
                    for read in reads {
                        let expected = Set(writes.filter { $0.transaction <= read.transaction }.map(\.n))
                        #expect(read.seen == expected, "read in transaction \(read.transaction)")
                        if writes.contains(where: { $0.transaction == read.transaction }) { sameBatch += 1 }
                    }
                    #expect(sameBatch > 0, "no read shared a transaction with writes: the ordering inside a batch went untested")
                }
            }
        }
    }

    static let insertMark = BatchedStatement("INSERT INTO marks (n) SELECT * FROM unnest($1::int4[])", columns: 1)

    static let insertItem = BatchedStatement(
        "INSERT INTO items (id, qty, note) SELECT * FROM unnest($1::uuid[], $2::int4[], $3::text[])", columns: 3)

    @Test func batchedRowsFromManyWriteSetsMergeIntoOneStatement() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE items (id uuid PRIMARY KEY, qty int NOT NULL, note text)")
            try await db.query("CREATE TABLE audit (id uuid NOT NULL)")
            let writer = GroupCommit(client: db)
            let ids = (0..<1000).map { _ in UUID() }
            try await withRunningServices([writer]) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (n, id) in ids.enumerated() {
                        group.addTask {
                            var writeSet = WriteSet([PostgresStatement("INSERT INTO audit VALUES ($1)", [.uuid(id)])])
                            writeSet.append([.uuid(id), .int32(Int32(n)), n % 10 == 0 ? .null : .text("note \"\(n)\", {x}")], to: Self.insertItem)
                            try await writer.submit(writeSet)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let row = try await db.query("SELECT count(*) AS n, sum(qty) AS total, count(note) AS notes FROM items")[0]
            #expect(try row.decode("n", as: Int.self) == 1000)
            #expect(try row.decode("total", as: Int.self) == 499_500)
            #expect(try row.decode("notes", as: Int.self) == 900, "NULLs stay NULL")
            let note = try await db.query("SELECT note FROM items WHERE id = $1", [.uuid(ids[7])])[0].decode("note", as: String.self)
            #expect(note == "note \"7\", {x}")
            #expect(try await db.query("SELECT count(*) AS n FROM audit")[0].decode("n", as: Int.self) == 1000)
            #expect(writer.transactionsCommitted < 200)
        }
    }

    /// Submits `count` write sets at once through one writer; how many failed, each with a
    /// unique violation (any other outcome is an issue).
    static func uniqueViolations(_ db: PostgresClient, count: Int, _ writeSet: @escaping @Sendable (Int) -> WriteSet) async throws -> Int {
        let writer = GroupCommit(client: db)
        return try await withRunningServices([writer]) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<count {
                    group.addTask {
                        do {
                            try await writer.submit(writeSet(n))
                            return false
                        } catch let error as PostgresError {
                            #expect(error.code == .uniqueViolation)
                            return true
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
        }
    }

    @Test func badBatchedRowFailsAloneAndTheRestCommit() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE items (id uuid PRIMARY KEY, qty int NOT NULL, note text)")
            let taken = UUID()
            try await db.query("INSERT INTO items VALUES ($1, 0, 'taken')", [.uuid(taken)])
            let failures = try await Self.uniqueViolations(db, count: 40) { n in
                var writeSet = WriteSet()
                writeSet.append([.uuid(n == 17 ? taken : UUID()), .int32(1), .null], to: Self.insertItem)
                return writeSet
            }
            #expect(failures == 1)
            #expect(try await db.query("SELECT count(*) AS n FROM items")[0].decode("n", as: Int.self) == 40)
        }
    }

    /// Fusable templates run as one statement per batch (`BatchedStatement.Fusion`): every
    /// write set's rows land, and a row that fails the fused statement fails its write set
    /// alone — the batch is committed again one write set at a time — with the error of its
    /// first template that fails.
    @Test func fusedTemplatesCommitTogetherAndABadRowFailsAlone() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE items (id uuid PRIMARY KEY, qty int NOT NULL, note text)")
            try await db.query("CREATE TABLE marks (n int NOT NULL)")
            try await db.query("CREATE TABLE stock (id int PRIMARY KEY, n int NOT NULL CHECK (n >= 0))")
            try await db.query("INSERT INTO stock VALUES (1, 39)")
            let taken = UUID()
            try await db.query("INSERT INTO items VALUES ($1, 0, 'taken')", [.uuid(taken)])
            let item = BatchedStatement(Self.insertItem.sql, columns: 3, fusion: .modification)
            let mark = BatchedStatement(Self.insertMark.sql, columns: 1, fusion: .modification)
            let take = BatchedStatement(
                "UPDATE stock s SET n = s.n - d.n FROM (SELECT sum(n)::int AS n FROM unnest($1::int4[]) AS u(n)) d WHERE s.id = 1",
                columns: 1, fusion: .modification)
            let count = BatchedStatement("SELECT count(*) FROM unnest($1::int4[])", columns: 1, fusion: .result)
            let failures = try await Self.uniqueViolations(db, count: 40) { n in
                var writeSet = WriteSet()
                writeSet.append([.uuid(n == 17 ? taken : UUID()), .int32(Int32(n)), .null], to: item)
                writeSet.append([.int32(Int32(n))], to: mark)
                // The bad write set breaks two rules: its first template's (a duplicate key)
                // is the one reported, as when the templates ran as separate statements in
                // their order.
                writeSet.append([.int32(n == 17 ? 1000 : 1)], to: take)
                writeSet.append([.int32(1)], to: count)
                return writeSet
            }
            #expect(failures == 1)
            #expect(try await db.query("SELECT count(*) AS n FROM items")[0].decode("n", as: Int.self) == 40)
            let marks = try await db.query("SELECT n FROM marks ORDER BY n").map { try $0.decode("n", as: Int.self) }
            #expect(marks == Array(0..<40).filter { $0 != 17 }, "the failed write set's other rows are not written either")
            #expect(try await db.query("SELECT n FROM stock")[0].decode("n", as: Int.self) == 0)
        }
    }

    /// A notification delivered in memory is decided twice: left out of the batch while its
    /// receiver is here, and sent through Postgres after all when the receiver has gone by the
    /// time the batch committed (another process's relay took over meanwhile).
    @Test func aNotificationWhoseReceiverLeftDuringTheCommitGoesThroughPostgres() async throws {
        try await TestServices.withSchema { db, _ in
            let channel = "gc_\(UUID().uuidString.prefix(8).lowercased())"
            let wake = BatchedStatement(
                "SELECT pg_notify('\(channel)', '') FROM (SELECT DISTINCT 1 FROM unnest($1::int4[])) AS once", columns: 1, fusion: .result)
            let asked = Mutex(0)
            let delivered = Mutex(0)
            let ready = Mutex(false)
            let heard = Mutex(0)
            let writer = GroupCommit(client: db)
            writer.deliverLocally(
                GroupCommit.LocalNotification(
                    template: wake,
                    isReceivedHere: { asked.withLock { $0 += 1; return $0 == 1 } },
                    deliver: { delivered.withLock { $0 += 1 } }))
            let listening = Task {
                for await event in db.listener(channels: [channel]) {
                    guard case .notification(let notification) = event else { continue }
                    if notification.payload == "ready" { ready.withLock { $0 = true } } else { heard.withLock { $0 += 1 } }
                }
            }
            defer { listening.cancel() }
            try await waitUntil("the listener hears") {
                try await db.query("SELECT pg_notify($1, 'ready')", [.text(channel)])
                return ready.withLock { $0 }
            }
            try await withRunningServices([writer]) {
                var writeSet = WriteSet([PostgresStatement("SELECT 1")])
                writeSet.append([.int32(1)], to: wake)
                try await writer.submit(writeSet)
            }
            try await waitUntil("the notification is heard") { heard.withLock { $0 } == 1 }
            #expect(asked.withLock { $0 } == 2, "asked before the batch and after its commit")
            #expect(delivered.withLock { $0 } == 0)
        }
    }

    struct MismatchedResult: Error {
        var expected: Int
        var got: Int
    }

    @Test func badWriteSetFailsAloneAndTheRestCommit() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE items (id int PRIMARY KEY, note text)")
            try await db.query("INSERT INTO items VALUES (13, 'already here')")
            let writer = GroupCommit(client: db)
            let outcomes = try await withRunningServices([writer]) {
                try await withThrowingTaskGroup(of: (Int, PostgresError?).self) { group in
                    for n in 0..<50 {
                        group.addTask {
                            do {
                                try await writer.submit(WriteSet([
                                    PostgresStatement("INSERT INTO items VALUES ($1 + 1000, 'first')", [.int32(Int32(n))]),
                                    PostgresStatement("INSERT INTO items VALUES ($1, 'second')", [.int32(Int32(n))]),
                                ]))
                                return (n, nil)
                            } catch let error as PostgresError {
                                return (n, error)
                            }
                        }
                    }
                    return try await group.reduce(into: [Int: PostgresError?]()) { $0[$1.0] = $1.1 }
                }
            }
            let failed = outcomes.filter { $0.value != nil }
            #expect(failed.keys.sorted() == [13])
            #expect(failed[13]??.code == .uniqueViolation)
            #expect(failed[13]??.statementIndex == 1, "the index is the statement's within its own write set")
            let count = try await db.query("SELECT count(*) AS n FROM items")[0].decode("n", as: Int.self)
            #expect(count == 1 + 49 * 2, "nothing of the bad write set, everything of the others")
        }
    }

    @Test func fullQueueRefusesAtOnceAndShutdownCommitsWhatWasQueued() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE t (n int)")
            let writer = GroupCommit(client: db, maxPending: 2)
            // The writer is not running yet: two write sets queue, the third is refused.
            let first = Task { try await writer.submit(WriteSet([PostgresStatement("INSERT INTO t VALUES (1)")])) }
            let second = Task { try await writer.submit(WriteSet([PostgresStatement("INSERT INTO t VALUES (2)")])) }
            try await waitUntil("two write sets are queued") { writer.queuedWriteSets == 2 }
            do {
                try await writer.submit(WriteSet([PostgresStatement("INSERT INTO t VALUES (3)")]))
                Issue.record("the third write set must be refused, not queued")
            } catch let error as RuntimeError {
                #expect(error.code == .overloaded)
            }
            try await withRunningServices([writer]) {
                _ = try await first.value
                _ = try await second.value
            }
            let values = try await db.query("SELECT n FROM t ORDER BY n").map { try $0.decode("n", as: Int.self) }
            #expect(values == [1, 2])
            await #expect(throws: RuntimeError.self) {
                try await writer.submit(WriteSet([PostgresStatement("INSERT INTO t VALUES (4)")]))
            }
        }
    }

    /// Another process locking the same rows in the opposite order deadlocks with a batch;
    /// Postgres aborts the batch's transaction, and the writer sends it again instead of
    /// failing every waiter.
    @Test func batchThatLosesADeadlockIsSentAgainAndCommits() async throws {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
            try await db.query("INSERT INTO t VALUES (1, 0), (2, 0)")
            let writer = GroupCommit(client: db)
            try await withRunningServices([writer]) {
                let batch = try await db.withTransaction { other in
                    // Postgres checks a lock wait for a deadlock once, deadlock_timeout after
                    // it began: the batch checks 5 s in (time for this side to close the cycle
                    // on a paused machine; at the default 1 s its one check could come first and
                    // find none), this side a minute in, so the batch is the one aborted.
                    try await other.query("SET LOCAL deadlock_timeout = '60s'")
                    try await other.query("UPDATE t SET v = v + 10 WHERE id = 2")
                    let otherPID = try await other.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
                    let batch = Task {
                        try await writer.submit(WriteSet([
                            PostgresStatement("SET LOCAL deadlock_timeout = '5s'"),
                            PostgresStatement("UPDATE t SET v = v + 100 WHERE id = 1"),
                            PostgresStatement("UPDATE t SET v = v + 100 WHERE id = 2"),
                        ]))
                    }
                    try await waitUntil("the batch waits for row 2") {
                        try await db.query(
                            "SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [.int32(Int32(otherPID))]
                        )[0].decode("n", as: Int.self) == 1
                    }
                    try await other.query("UPDATE t SET v = v + 10 WHERE id = 1")
                    return batch
                }
                _ = try await batch.value
                #expect(try await db.query("SELECT sum(v) AS v FROM t")[0].decode("v", as: Int.self) == 220, "both transactions' updates")
            }
            #expect(writer.transactionsCommitted == 2, "the aborted attempt and the retry")
        }
    }
}
