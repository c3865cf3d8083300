import Foundation
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Logging
import Testing

@Suite("intake's services on real servers", .serialized)
struct IntakeServicesTests {
    @Test func acknowledgedWritesCommitAndTheirEventsReachTheStream() async throws {
        try await TestServices.withDatabase { url in
            var configuration = IntakeConfiguration()
            configuration.databaseURL = url
            configuration.redisURL = try TestServices.redisURL()
            configuration.eventStream = "test:\(UUID().uuidString):events"
            let logger = Logger(label: "test.intake")
            let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger)
            try await infrastructure.migrate()
            #expect(try await infrastructure.migrate().isEmpty, "migrating twice applies nothing")
            let secrets = IntakeSecrets(jwtSecret: Array("jwt-secret-for-tests-0123456789abcdef".utf8), webhookSecret: [1, 2, 3], piiKey: Array(repeating: 7, count: 32))
            let services = try await IntakeServices(infrastructure: infrastructure, configuration: configuration, secrets: secrets, logger: logger)
            let event = CloudEvent(source: "/test", type: "com.example.test.done", subject: "x", data: "{}")
            let prune = try await withRunningServices(services.all) {
                // A write set with an outbox event, through the group-commit writer...
                try await services.groupCommit.submit(WriteSet([
                    OutboxQueries.insert([OutboxEvent(aggregateType: "test", aggregateID: "x", event: event)]),
                    OutboxQueries.notify,
                ]))
                // ...reaches the configured stream through the relay.
                try await waitUntil("the event is in the stream") {
                    let length = try await infrastructure.redis.command("XLEN", RedisArgument(configuration.eventStream))
                    return length == .integer(1)
                }
                // The outbox pruning job is registered on the queue.
                let job = try await services.workQueue.enqueue(JobRequest(kind: OutboxPruner.jobKind))
                try await waitUntil("the pruning job ran") {
                    try await infrastructure.postgres.query("SELECT state FROM jobs WHERE id = $1", [.int64(job.jobID)])[0]
                        .decode("state", as: String.self) == "completed"
                }
                // So is the idempotency records' one: records past 24 hours go, fresh ones stay.
                let db = infrastructure.postgres
                try await db.query("""
                    INSERT INTO idempotency_records (user_id, key, request_hash, status, body, created_at) VALUES
                        (gen_random_uuid(), 'old', '\\x00', 200, '', now() - interval '25 hours'),
                        (gen_random_uuid(), 'fresh', '\\x00', 200, '', now())
                    """)
                let idempotencyPrune = try await services.workQueue.enqueue(JobRequest(kind: "intake.idempotency.prune"))
                try await waitUntil("the idempotency pruning job ran") {
                    try await db.query("SELECT state FROM jobs WHERE id = $1", [.int64(idempotencyPrune.jobID)])[0]
                        .decode("state", as: String.self) == "completed"
                }
                let keys = try await db.query("SELECT key FROM idempotency_records ORDER BY key").map { try $0.decode("key", as: String.self) }
                #expect(keys == ["fresh"])
                return job
            }
            #expect(prune.jobID > 0)
            let entries = try await infrastructure.redis.command("XRANGE", RedisArgument(configuration.eventStream), "-", "+")
            let json = try #require(entries.array?.first?.array?[1].array?[1].string)
            #expect(json.contains(event.id.uuidString.lowercased()))
            _ = try await infrastructure.redis.command("DEL", RedisArgument(configuration.eventStream))
            await infrastructure.shutdown()
        }
    }
}
