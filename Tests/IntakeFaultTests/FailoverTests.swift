import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeTestSupport
import Testing

/// The hot standby (DATA.md "Backup and recovery"): a primary, a synchronous standby and
/// pg_auto_failover's monitor on loopback (`scripts/ha-cluster`), `intake serve` given the
/// multi-host URL, `intake load` running. The primary's machine dies (`kill -9` of its keeper,
/// postmaster and backends); the standby is promoted by pg_auto_failover and Intake carries on
/// without a restart. Twice in one run, the dead node rejoining as standby in between. Every
/// order acknowledged before, during and after is there (replication is synchronous); the
/// time from each kill to the next acknowledged order (RTO) is printed.
@Suite("Failover to the hot standby", .serialized)
struct FailoverTests {
    static let script = DeployFilesTests.root.appendingPathComponent("scripts/ha-cluster").path

    struct CommandFailed: Error, CustomStringConvertible { var description: String }

    /// Runs `scripts/ha-cluster ARGS` to its end; its output. Fails the test on a non-zero exit.
    static func cluster(_ arguments: [String], timeout: Duration = .seconds(180)) async throws -> String {
        let log = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ha-cluster-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let status = try await ChildProcess.run("/bin/bash", [script] + arguments, output: log, timeout: timeout)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw CommandFailed(description: "scripts/ha-cluster \(arguments.joined(separator: " ")) exited \(status):\n\(output)")
        }
        return output
    }

    /// The last line of `output`: what a command prints on stdout after its log lines.
    static func lastLine(_ output: String) -> String {
        output.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    @Test func theStandbyIsPromotedAndIntakeCarriesOnLosingNoAcknowledgedOrder() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_autoctl") else {
            Issue.record("pg_autoctl is not installed (scripts/test installs pg-auto-failover-cli)")
            return
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-ha-\(UUID().uuidString)").path
        let url = Self.lastLine(try await Self.cluster(["start", directory]))
        #expect(url.contains("target_session_attrs=read-write"), "\(url)")
        do {
            let harness = try FaultHarness(databaseURL: url, redisURL: try TestServices.redisURL())
            defer { harness.shutdownClients() }
            try await harness.server.start(timeout: .seconds(120))
            // A client of the test's own places one order at a time after each kill: the time to
            // its first 201 is the RTO, and its orders are checked like the load's.
            let options = try await harness.options(duration: .seconds(40), concurrency: 16, mix: "create=85,pay=5,cancel=5,get=5")
            let probe = try await HTTPLoadTarget.connect(options)
            let product = try #require(try await probe.createProducts(count: 1, stock: 1_000_000, shards: 2, runID: "probe").first)
            let user = try #require(try await probe.makeUsers(count: 1, runID: "probe").first)
            let probed = Shared<[CreatedOrder]>([])
            let recoveries = Shared<[Duration]>([])

            let report = try await harness.run(options) {
                for round in 1...2 {
                    try await Task.sleep(for: .seconds(6))
                    let primary = Self.lastLine(try await Self.cluster(["primary", directory]))
                    let killed = ContinuousClock.now
                    _ = try await Self.cluster(["kill", directory, primary])
                    var attempt = 0
                    while true {
                        attempt += 1
                        let answer = await probe.create(lines: [(product.id, 1)], user: user, idempotencyKey: "probe-\(round)-\(attempt)")
                        if answer.status == 201, let order = answer.order {
                            recoveries.withLock { $0.append(ContinuousClock.now - killed) }
                            probed.withLock { $0.append(order) }
                            break
                        }
                        #expect([0, 503].contains(answer.status), "during a failover an order is refused with 503, got \(answer.status)")
                        #expect(ContinuousClock.now - killed < .seconds(120), "no order acknowledged 120 s after the primary died")
                        if ContinuousClock.now - killed >= .seconds(120) { return }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    // The dead machine comes back and rejoins as the standby; then synchronous
                    // replication is on again for the next round.
                    _ = try await Self.cluster(["rejoin", directory, primary])
                    _ = try await Self.cluster(["wait", directory] + (primary == "node1" ? ["secondary", "primary"] : ["primary", "secondary"]))
                }
            }
            await probe.shutdown()
            let rto = recoveries.withLock { $0 }
            print("FAILOVER RTO (kill -9 of the primary to the next acknowledged order): \(rto.map { "\($0)" }.joined(separator: ", "))")
            FaultHarness.summarize("failover x\(rto.count)", report)
            #expect(rto.count == 2, "both failovers recovered")
            #expect(report.verification.passed, "no acknowledged order lost: \(report.text)")
            let serverErrors = report.statusCounts.filter { ["500", "502", "504"].contains($0.key) }
            #expect(serverErrors.isEmpty, "no 5xx but 503 while the primary is gone: \(report.statusCounts)")
            #expect(report.ordersCreated > 0)
            // The probe's acknowledged orders are on the new primary too, with their items.
            for order in probed.withLock({ $0 }) {
                let items = try await harness.db.query(
                    "SELECT count(*)::int8 AS n FROM order_items WHERE order_id = $1", [.uuid(order.id)])[0]
                    .decode("n", as: Int.self)
                #expect(items == 1, "order \(order.id) survived the failover with its item")
            }
            try await harness.server.stop()
        } catch {
            _ = try? await Self.cluster(["stop", directory])
            throw error
        }
        _ = try await Self.cluster(["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
