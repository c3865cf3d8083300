import AsyncHTTPClient
import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeTestSupport
import Logging
import Testing

/// Postgres and Redis going away under load, on servers of the test's own (the shared test
/// servers stay up for everyone else).
@Suite("Faults: Postgres restart and Redis outage under load", .serialized)
struct OutageTests {
    /// Status and body, or `(0, "")` when nothing answered (a server going down).
    static func get(_ url: String) async -> (Int, String) {
        (try? await TestHTTP.get(url)).map { (Int($0.status), $0.body) } ?? (0, "")
    }

    @Test func postgresRestartGives503ThenRecoversWithinFiveSecondsAndLosesNothing() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-pg-restart-\(UUID().uuidString)")
        let postgres = Shared(try await EmbeddedPostgres.start(dataDirectory: directory, logger: Logger(label: "test.pg")))
        let url = postgres.withLock { $0.url }
        let harness = try FaultHarness(databaseURL: url, redisURL: try TestServices.redisURL())
        defer { harness.shutdownClients() }
        try await harness.server.start()
        let base = await harness.server.url
        let recovery = Shared<Duration?>(nil)
        let duringOutage = Shared<Int>(0)
        let options = try await harness.options(duration: .seconds(9))
        let report = try await harness.run(options) {
            try await Task.sleep(for: .milliseconds(1500))
            let port = postgres.withLock { $0.port }
            try await postgres.withLock { $0 }.stop()
            try await Task.sleep(for: .seconds(2))
            duringOutage.withLock { $0 = 1 }
            let (ready, _) = await Self.get(base + "/readyz")
            #expect(ready == 503, "/readyz reports the database down")
            let restarted = try await EmbeddedPostgres.start(dataDirectory: directory, port: port, logger: Logger(label: "test.pg"))
            postgres.withLock { $0 = restarted }
            let back = ContinuousClock.now
            while await Self.get(base + "/readyz").0 != 200 {
                if ContinuousClock.now - back > .seconds(30) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            recovery.withLock { $0 = ContinuousClock.now - back }
        }
        let recovered = try #require(recovery.withLock { $0 })
        #expect(recovered <= .seconds(5), "intake recovered \(recovered) after Postgres came back")
        FaultHarness.summarize("Postgres restart (ready again \(recovered) after it came back)", report)
        #expect(report.verification.passed, "\(report.text)")
        #expect((report.statusCounts["503"] ?? 0) > 0, "requests during the outage were answered 503: \(report.statusCounts)")
        let serverErrors = report.statusCounts.filter { ["500", "502", "504", "0"].contains($0.key) }
        #expect(serverErrors.isEmpty, "no 500 and no hang: \(report.statusCounts)")
        #expect((report.latencyMs["create"]?.max ?? 0) < 15_000, "no request waited unboundedly")
        try await harness.server.stop()
        try await postgres.withLock { $0 }.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func redisOutageKeepsReadsRightFailsAuthClosedAndDeliversTheBacklog() async throws {
        try await TestServices.withDatabase { url in
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-redis-outage-\(UUID().uuidString)")
            let redisServer = Shared(try await EmbeddedRedis.start(dataDirectory: directory, logger: Logger(label: "test.redis")))
            let redisURL = redisServer.withLock { $0.url }
            let harness = try FaultHarness(databaseURL: url, redisURL: redisURL)
                defer { harness.shutdownClients() }
            try await harness.server.start()
            let base = await harness.server.url
            let options = try await harness.options(duration: .seconds(7), mix: "create=90,get=10")
            let product = Shared<String?>(nil)
            let session = try await TestHTTP.post(
                base + "/v1/sessions", #"{"email":"\#(FaultHarness.adminEmail)","password":"\#(FaultHarness.adminPassword)"}"#)
            let token = try #require(session.json["access_token"] as? String)
            let report = try await harness.run(options) {
                try await Task.sleep(for: .milliseconds(1500))
                let listing = await Self.get(base + "/v1/products?limit=1").1
                let id = (try? JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])
                    .flatMap { ($0["items"] as? [[String: Any]])?.first?["id"] as? String }
                product.withLock { $0 = id }
                let port = redisServer.withLock { $0.port }
                await redisServer.withLock { $0 }.stop()
                try await Task.sleep(for: .milliseconds(500))
                // Reads bypass the cache and stay right; readiness names Redis.
                if let id {
                    let (status, body) = await Self.get(base + "/v1/products/\(id)")
                    #expect(status == 200, "product reads go on without Redis: \(body)")
                }
                // A health probe that sends a credential along is not asked to prove it.
                for path in ["/healthz", "/healthz/", "/metrics"] {
                    let health = try await TestHTTP.get(base + path, headers: [("Authorization", "Bearer \(token)")])
                    #expect(health.status == 200, "\(path): \(health.body)")
                }
                let (ready, readiness) = await Self.get(base + "/readyz")
                #expect(ready == 503)
                #expect(readiness.contains("redis") && readiness.contains("down"), "\(readiness)")
                // An event that cannot be published: the relay's lag gauge grows meanwhile
                // (it stayed at its last value while every publish failed).
                let event = CloudEvent(source: "/test", type: "com.example.test.waiting", subject: "outage", data: "{}")
                try await harness.db.pipeline([OutboxQueries.insert([OutboxEvent(aggregateType: "test", aggregateID: "outage", event: event)])])
                try await waitUntil("the outbox lag gauge shows the waiting event", timeout: .seconds(8)) {
                    let metrics = await Self.get(base + "/metrics").1
                    let lag = metrics.split(separator: "\n").first { $0.hasPrefix("intake_outbox_lag_seconds ") }
                        .flatMap { Double($0.split(separator: " ").last ?? "") }
                    return (lag ?? 0) >= 1
                }
                let restarted = try await EmbeddedRedis.start(dataDirectory: directory, port: port, logger: Logger(label: "test.redis"))
                redisServer.withLock { $0 = restarted }
            }
            #expect(product.withLock { $0 } != nil)
            FaultHarness.summarize("Redis outage", report)
            // Authenticated requests failed closed during the outage: 503, never a 500.
            #expect((report.statusCounts["503"] ?? 0) > 0, "\(report.statusCounts)")
            #expect(report.statusCounts.filter { ["500", "401", "0"].contains($0.key) }.isEmpty, "\(report.statusCounts)")
            // Every order acknowledged before and after has its event: the relay kept the
            // outbox and delivered the backlog when Redis came back.
            #expect(report.verification.passed, "\(report.text)")
            try await harness.server.stop()
            await redisServer.withLock { $0 }.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }
}
