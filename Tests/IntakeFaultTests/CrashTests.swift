import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeTestSupport
import Testing

/// `kill -9` and SIGTERM of a server under load: what was acknowledged stays, stock stays
/// conserved, events all arrive, and timeouts keep firing.
@Suite("Faults: crash and shutdown of intake serve under load", .serialized)
struct CrashTests {
    @Test func killNineUnderLoadFiveTimesLosesNothing() async throws {
        try await TestServices.withDatabase { url in
            let harness = try FaultHarness(
                databaseURL: url, redisURL: try TestServices.redisURL(), extra: ["INTAKE_PAYMENT_TTL": "3s", "INTAKE_JOB_LEASE": "3s"])
            let db = harness.db
            defer { harness.shutdownClients() }
            try await harness.server.start()
            var acknowledged = 0
            @Sendable func orders() async throws -> Int { try await db.query("SELECT count(*)::int8 AS n FROM orders")[0].decode("n", as: Int.self) }
            for cycle in 1...5 {
                let options = try await harness.options(duration: .seconds(5))
                let before = try await orders()
                let report = try await harness.run(options) {
                    // The kill lands while orders are being placed, not during the run's set-up
                    // (products and users), which a loaded machine can stretch past 300 ms.
                    try await waitUntil("the load is placing orders") { try await orders() > before }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 300...1500)))
                    try await harness.server.stop(signal: SIGKILL)
                    try await harness.server.start()
                }
                #expect(report.verification.passed, "cycle \(cycle):\n\(report.text)")
                #expect(report.ordersCreated > 0, "cycle \(cycle) created orders")
                #expect((report.statusCounts["0"] ?? 0) > 0, "cycle \(cycle): the kill hit requests in flight or refused some")
                acknowledged += report.ordersCreated
                FaultHarness.summarize("kill -9 cycle \(cycle)", report)
            }
            // The payment-timeout sweep keeps firing after the crashes, and jobs a killed
            // process held come back after their lease.
            try await waitUntil("expired PENDING orders are canceled", timeout: .seconds(60)) {
                try await db.query("SELECT count(*)::int8 AS n FROM orders WHERE status = 'PENDING' AND expires_at < now() - interval '3 seconds'")[0]
                    .decode("n", as: Int.self) == 0
            }
            try await waitUntil("no job is left running past its lease", timeout: .seconds(30)) {
                try await db.query("SELECT count(*)::int8 AS n FROM jobs WHERE state = 'running' AND lease_until < now() - interval '6 seconds'")[0]
                    .decode("n", as: Int.self) == 0
            }
            #expect(acknowledged > 100)
            #expect(try await harness.server.stop() == 0)
        }
    }

    @Test func sigtermDuringLoadFinishesWhatItAcknowledged() async throws {
        try await TestServices.withDatabase { url in
            let harness = try FaultHarness(databaseURL: url, redisURL: try TestServices.redisURL())
            let db = harness.db
            defer { harness.shutdownClients() }
            try await harness.server.start()
            let options = try await harness.options(duration: .seconds(3), concurrency: 32, mix: "create=100")
            let status = Shared<Int32>(-1)
            let report = try await harness.run(options) {
                try await Task.sleep(for: .milliseconds(1200))
                let code = try await harness.server.stop(signal: SIGTERM)
                status.withLock { $0 = code }
                try await harness.server.start()
            }
            let log = await harness.server.log
            #expect(status.withLock { $0 } == 0, "a graceful stop exits 0:\n\(log.suffix(2000))")
            #expect(report.verification.passed, "\(report.text)")
            FaultHarness.summarize("SIGTERM under load (exit status \(status.withLock { $0 }))", report)
            #expect(report.statusCounts.filter { $0.key == "0" || $0.key == "503" }.values.reduce(0, +) > 0, "the stop hit the load: \(report.statusCounts)")
            // No half-written order: every order has items and its created event row.
            let orphans = try await db.query("""
                SELECT count(*)::int8 AS n FROM orders o
                WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)
                   OR NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregate_id = o.id::text AND e.event_type = 'com.example.order.created')
                """)[0].decode("n", as: Int.self)
            #expect(orphans == 0)
            try await harness.server.stop()
        }
    }
}
