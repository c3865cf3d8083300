import Benchmark
import Foundation
import IntakeRuntime
import Logging
import ServiceLifecycle

/// The runtime's throughput figures (BENCHMARKS.md): mailbox, group commit, work queue,
/// outbox relay. Each iteration processes `scaledIterations` units (messages, writes, jobs,
/// events), so `throughput` is units per second. Run with scripts/bench.
let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    guard let databaseURL = environment["INTAKE_BENCH_DATABASE_URL"], let redisURL = environment["INTAKE_BENCH_REDIS_URL"] else {
        print("INTAKE_BENCH_DATABASE_URL and INTAKE_BENCH_REDIS_URL are not set: run scripts/bench")
        return
    }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }

    func configuration(_ scaling: BenchmarkScalingFactor, seconds: Int = 5) -> Benchmark.Configuration {
        .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1, scalingFactor: scaling,
            maxDuration: .seconds(seconds), maxIterations: 20)
    }

    // MARK: Mailbox

    Benchmark("mailbox, one activation, 64 senders", configuration: configuration(.mega)) { (benchmark: Benchmark, registry: ActorRegistry<Echo>) in
        await send(benchmark.scaledIterations.count, senders: 64, keys: 1, registry)
    } setup: {
        ActorRegistry<Echo>(name: "bench", context: (), settings: .init(mailboxCapacity: 1_000_000))
    }

    Benchmark("mailbox, 10000 activations, 64 senders", configuration: configuration(.mega)) { (benchmark: Benchmark, registry: ActorRegistry<Echo>) in
        await send(benchmark.scaledIterations.count, senders: 64, keys: 10_000, registry)
    } setup: {
        ActorRegistry<Echo>(name: "bench", context: (), settings: .init(mailboxCapacity: 1_000_000))
    }

    Benchmark("mailbox, one activation, tell (no reply), 64 senders", configuration: configuration(.mega)) { (benchmark: Benchmark, registry: ActorRegistry<Echo>) in
        let total = benchmark.scaledIterations.count
        await concurrently(total, workers: 64) { n in
            while (try? registry.tell(n, to: 0)) == nil { await Task.yield() }
        }
        // An ask queues behind every tell: when it returns, all were handled.
        _ = try? await registry.send(-1, to: 0)
    } setup: {
        ActorRegistry<Echo>(name: "bench", context: (), settings: .init(mailboxCapacity: 100_000))
    }

    // MARK: Group commit vs one transaction per write

    for submitters in [1, 64, 1024] {
        Benchmark("group commit, \(submitters) submitters", configuration: configuration(.kilo)) { (benchmark: Benchmark, writer: GroupCommit) in
            await concurrently(benchmark.scaledIterations.count, workers: submitters) { n in
                try? await writer.submit(WriteSet([
                    PostgresStatement("INSERT INTO bench_writes (n, note) VALUES ($1, $2)", [.int64(Int64(n)), "write"]),
                ]))
            }
        } setup: {
            let db = try await freshDatabase(databaseURL, poolSize: 4)
            let writer = GroupCommit(client: db)
            Task { try await writer.run() }
            return writer
        }
    }

    let batchedInsert = BatchedStatement("INSERT INTO bench_writes (n, note) SELECT * FROM unnest($1::int8[], $2::text[])", columns: 2)
    for submitters in [1, 64, 1024] {
        Benchmark("group commit, batched rows, \(submitters) submitters", configuration: configuration(.kilo)) { (benchmark: Benchmark, writer: GroupCommit) in
            await concurrently(benchmark.scaledIterations.count, workers: submitters) { n in
                var writeSet = WriteSet()
                writeSet.append([.int64(Int64(n)), "write"], to: batchedInsert)
                try? await writer.submit(writeSet)
            }
        } setup: {
            let db = try await freshDatabase(databaseURL, poolSize: 4)
            let writer = GroupCommit(client: db)
            Task { try await writer.run() }
            return writer
        }
    }

    Benchmark("one transaction per write, 64 writers, pool of 16", configuration: configuration(.kilo)) { (benchmark: Benchmark, db: PostgresClient) in
        await concurrently(benchmark.scaledIterations.count, workers: 64) { n in
            try? await db.query("INSERT INTO bench_writes (n, note) VALUES ($1, $2)", [.int64(Int64(n)), "write"])
        }
    } setup: {
        try await freshDatabase(databaseURL, poolSize: 16)
    }

    // MARK: Work queue

    Benchmark("work queue, enqueue then complete, no-op jobs", configuration: configuration(.kilo, seconds: 20)) { (benchmark: Benchmark, setup: (PostgresClient, WorkQueue)) in
        let (db, queue) = setup
        let total = benchmark.scaledIterations.count
        let start = queue.finalizationsWritten
        let requests = (0..<1000).map { _ in JobRequest(kind: "noop") }
        var enqueued = 0
        while enqueued < total {
            let chunk = min(1000, total - enqueued)
            try? await WorkQueue.enqueueMany(Array(requests.prefix(chunk)), using: db)
            enqueued += chunk
        }
        // Done when every job's completion is written back, not merely when it ran.
        while queue.finalizationsWritten < start + total {
            try? await Task.sleep(for: .milliseconds(1))
        }
    } setup: {
        let db = try await freshDatabase(databaseURL, poolSize: 8)
        let queue = WorkQueue(client: db, configuration: WorkQueueConfiguration(pollInterval: .milliseconds(50)))
        queue.register(kind: "noop", concurrency: 2000) { _ in .completed }
        Task { try await queue.run() }
        return (db, queue)
    }

    // MARK: Outbox relay

    Benchmark("outbox relay to a Redis stream", configuration: configuration(.kilo, seconds: 20)) { (benchmark: Benchmark, setup: (PostgresClient, OutboxRelay)) in
        let (db, relay) = setup
        let total = benchmark.scaledIterations.count
        let before = relay.publishedEvents
        var inserted = 0
        while inserted < total {
            let chunk = min(1000, total - inserted)
            let events = (0..<chunk).map { n in
                OutboxEvent(
                    aggregateType: "order", aggregateID: "\(n)",
                    event: CloudEvent(source: "/bench", type: "com.example.order.created", data: #"{"n":\#(n)}"#))
            }
            _ = try? await db.pipeline([OutboxQueries.insert(events), OutboxQueries.notify])
            inserted += chunk
        }
        while relay.publishedEvents < before + total {
            try? await Task.sleep(for: .milliseconds(1))
        }
    } setup: {
        let db = try await freshDatabase(databaseURL, poolSize: 8)
        let redis = RedisClient(configuration: try RedisConfiguration(url: redisURL, poolSize: 2))
        _ = try await redis.command("DEL", "bench:events")
        let relay = OutboxRelay(
            client: db, sinks: [RedisStreamSink(redis: redis, stream: "bench:events", maxLength: 100_000)],
            settings: .init(batchSize: 1000, pollInterval: .milliseconds(20)))
        Task { try await relay.run() }
        return (db, relay)
    }
}

/// The simplest actor: replies with what it got.
actor Echo: VirtualActor {
    static func activate(key: Int, context: Void) async throws -> Echo { Echo() }
    func handle(_ message: Int) async throws -> Int { message }
}

func send(_ total: Int, senders: Int, keys: Int, _ registry: ActorRegistry<Echo>) async {
    await concurrently(total, workers: senders) { n in
        _ = try? await registry.send(n, to: n % keys)
    }
}

/// Runs `work(0..<total)` on `workers` concurrent tasks.
func concurrently(_ total: Int, workers: Int, _ work: @escaping @Sendable (Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                var n = worker
                while n < total {
                    await work(n)
                    n += workers
                }
            }
        }
    }
}

/// A client on a database with the runtime's tables (jobs, outbox) and `bench_writes`, empty.
func freshDatabase(_ url: String, poolSize: Int) async throws -> PostgresClient {
    let db = PostgresClient(configuration: try PostgresConfiguration(url: url, poolSize: poolSize))
    try await db.execute(script: """
        DROP TABLE IF EXISTS bench_writes, jobs, job_schedules, outbox, schema_migrations;
        CREATE TABLE bench_writes (id bigserial PRIMARY KEY, n bigint NOT NULL, note text NOT NULL);
        """)
    try await Migrator(client: db).migrate([try RuntimeMigrations.set()])
    return db
}
