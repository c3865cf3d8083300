import Foundation
import IntakeData
import IntakeRuntime
import IntakeTestSupport
import Testing

extension DataIntegrationTests {
    /// Warehouse writes are serialized by a session advisory lock, which ends with its
    /// session: a change whose connection broke while DuckDB ran (a failover) must not be
    /// swapped in, since another writer may hold the lock by then.
    @Suite("warehouse lock")
    struct WarehouseLockTests {
        @Test func aChangeWhoseLockDiedWithItsConnectionIsNotSwappedIn() async throws {
            try await DataHarness.with { h in
                let warehouse = h.platform.warehouse
                try await warehouse.ensureExists()
                let before = try Data(contentsOf: warehouse.path)
                let key = "intake.warehouse:" + warehouse.path.standardizedFileURL.path
                let holder = """
                    SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
                        AND ((classid::int8 << 32) | objid::int8) = hashtext($1)::int8
                    """
                struct Total: Decodable, Sendable { var total: Int64 }
                // A change that takes a few seconds of DuckDB, long enough to end its session.
                let change = Task {
                    try await warehouse.write(
                        "CREATE TABLE slow AS SELECT sum(i)::int8 AS total FROM range(3000000000) t(i); SELECT total FROM slow;",
                        returning: Total.self, accept: { _ in })
                }
                try await waitUntil("the change holds the warehouse lock") { try await !h.db.query(holder, [.text(key)]).isEmpty }
                try await h.db.query("SELECT pg_terminate_backend(pid) FROM (\(holder)) AS l", [.text(key)])
                let outcome = await change.result
                guard case .failure = outcome else {
                    Issue.record("a change that lost its lock was swapped in: \(outcome)")
                    return
                }
                #expect(try Data(contentsOf: warehouse.path) == before, "the live warehouse is as it was")
                #expect(try await warehouse.read("SELECT count(*)::int8 AS total FROM information_schema.tables WHERE table_name = 'slow'", as: Total.self).first?.total == 0)
            }
        }

        /// DATA.md: "until a load commits, the previous rows and file of that day stay whole".
        /// The warehouse's swap is the commit; the lake's file is replaced after it
        /// (`afterCommit`), never before: a hook that fails finds the change committed.
        @Test func theLakeFileIsReplacedOnlyAfterTheWarehouseCommitted() async throws {
            try await DataHarness.with { h in
                let warehouse = h.platform.warehouse
                try await warehouse.ensureExists()
                struct Total: Decodable, Sendable { var total: Int64 }
                struct HookFailed: Error {}
                let committed = Shared(false)
                do {
                    _ = try await warehouse.write(
                        "CREATE TABLE marker AS SELECT 1::int8 AS total; SELECT total FROM marker;", returning: Total.self, accept: { _ in },
                        afterCommit: {
                            committed.withLock { $0 = true }
                            throw HookFailed()
                        })
                    Issue.record("the failing hook's error was lost")
                } catch is HookFailed {}
                #expect(committed.withLock { $0 })
                let marker = try await warehouse.read(
                    "SELECT count(*)::int8 AS total FROM information_schema.tables WHERE table_name = 'marker'", as: Total.self)
                #expect(marker.first?.total == 1, "the warehouse had committed when the lake's file was to be replaced")
            }
        }
    }
}
