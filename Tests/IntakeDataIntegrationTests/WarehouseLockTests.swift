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
    }
}
