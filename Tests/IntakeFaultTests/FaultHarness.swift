import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Testing

/// An `intake serve` child process on a fresh database, and what a load run against it needs.
struct FaultHarness {
    static let adminEmail = "fault-admin@example.com"
    static let adminPassword = "fault-admin-password"
    static let webhookSecret = "fault-webhook-secret"

    let server: ServerProcess
    let databaseURL: String
    let redisURL: String
    let stream: String
    /// The server's Postgres and Redis, for verification and checks of the test's own.
    let db: PostgresClient
    let redis: RedisClient

    init(databaseURL: String, redisURL: String, extra: [String: String] = [:]) throws {
        self.databaseURL = databaseURL
        self.redisURL = redisURL
        db = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL, poolSize: 2))
        redis = RedisClient(configuration: try RedisConfiguration(url: redisURL, poolSize: 2))
        stream = "test:\(UUID().uuidString):events"
        let dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-fault-\(UUID().uuidString)").path
        server = try ServerProcess(
            environment: [
                "INTAKE_DATABASE_URL": databaseURL, "INTAKE_REDIS_URL": redisURL, "INTAKE_EVENT_STREAM": stream,
                "INTAKE_DATA_DIR": dataDirectory, "INTAKE_JWT_SECRET": "fault-jwt-secret-0123456789abcdef-xyz",
                "INTAKE_WEBHOOK_SECRET": Self.webhookSecret, "INTAKE_PII_KEY": Data(repeating: 5, count: 32).base64EncodedString(),
                "INTAKE_ADMIN_EMAIL": Self.adminEmail, "INTAKE_ADMIN_PASSWORD": Self.adminPassword, "INTAKE_BCRYPT_COST": "4",
                "INTAKE_LOG_LEVEL": "warning", "INTAKE_LOG_FORMAT": "text", "INTAKE_DB_POOL_SIZE": "8",
            ].merging(extra) { $1 })
    }

    func options(duration: Duration, concurrency: Int = 16, mix: String = "create=80,pay=10,cancel=5,get=5") async throws -> LoadOptions {
        var options = LoadOptions()
        options.mode = .http
        options.url = await server.url
        options.adminEmail = Self.adminEmail
        options.adminPassword = Self.adminPassword
        options.webhookSecret = Self.webhookSecret
        options.eventStream = stream
        options.products = 4
        options.stockPerProduct = 100_000
        options.shards = 4
        options.maxItems = 2
        options.users = 4
        options.duration = duration
        options.concurrency = concurrency
        options.mix = try OperationMix(parsing: mix)
        options.eventWait = .seconds(45)
        options.progress = false
        try options.validate()
        return options
    }

    func shutdownClients() {
        db.shutdown()
        redis.shutdown()
    }

    /// One line for the log: what the run acknowledged, what verification found, statuses.
    static func summarize(_ name: String, _ report: LoadReport) {
        let passed = report.verification.checks.filter(\.passed).count
        let failed = report.verification.checks.count - passed
        let statuses = report.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("FAULT \(name): \(passed) passed, \(failed) failed; orders acked \(report.ordersCreated); statuses \(statuses)")
        for check in report.verification.checks { print("FAULT   \(check.passed ? "ok" : "FAIL") \(check.name): \(check.detail)") }
    }

    /// One load run against the server while `fault` runs alongside it, started once the run
    /// is measuring (its set-up over HTTP, which a loaded machine stretches to seconds, would
    /// otherwise take the fault's timed delay and leave the fault nothing to hit); the report,
    /// verified.
    func run(_ options: LoadOptions, during fault: @Sendable () async throws -> Void) async throws -> LoadReport {
        let target = try await HTTPLoadTarget.connect(options)
        let verifier = Verifier(db: db, redis: redis, stream: stream, eventTypePrefix: "com.example", eventWait: options.eventWait)
        let runner = LoadRunner(options: options, target: target, verifier: verifier)
        // A run that ends before it measures (its set-up failed) ends the wait with its own
        // error, rather than leaving the wait to time out.
        let ended = Signal()
        let report = Task {
            defer { ended.fire() }
            return try await runner.run()
        }
        do {
            try await waitUntil("the load is measuring") { runner.recorder.requestsAnswered > 0 || ended.count > 0 }
            if ended.count == 0 { try await fault() }
            let result = try await report.value
            await target.shutdown()
            return result
        } catch {
            report.cancel()
            _ = try? await report.value
            await target.shutdown()
            throw error
        }
    }
}
