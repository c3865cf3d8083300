import Benchmark
import Foundation
import IntakeRuntime

/// The anchors later work is measured against: what one commit per write costs on this
/// machine, and what batching buys, for Postgres (libpq) and Redis (hiredis).
/// Run with scripts/bench, which starts a durable (fsync on) Postgres and a Redis.
let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    guard let databaseURL = environment["INTAKE_BENCH_DATABASE_URL"], let redisURL = environment["INTAKE_BENCH_REDIS_URL"] else {
        print("INTAKE_BENCH_DATABASE_URL and INTAKE_BENCH_REDIS_URL are not set: run scripts/bench")
        return
    }
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 3, maxDuration: .seconds(5),
        maxIterations: 100_000)

    // One INSERT, committed on its own: every iteration waits for one fsync.
    Benchmark("postgres insert, one transaction per row", configuration: configuration) { benchmark, db in
        for index in benchmark.scaledIterations {
            try await db.query("INSERT INTO bench_rows (n, note) VALUES ($1, $2)", [.int64(Int64(index)), "row"])
        }
    } setup: {
        try await postgresWithTable(databaseURL)
    }

    // 1,000 INSERT statements pipelined in one round trip and one transaction.
    Benchmark("postgres insert, pipelined batch of 1000 rows", configuration: configuration) { benchmark, db in
        let statements = (0..<1000).map { PostgresStatement("INSERT INTO bench_rows (n, note) VALUES ($1, $2)", [.int64(Int64($0)), "row"]) }
        for _ in benchmark.scaledIterations {
            _ = try await db.pipeline(statements)
        }
    } setup: {
        try await postgresWithTable(databaseURL)
    }

    // 1,000 rows in one statement through unnest(): the bulk path group commit uses.
    Benchmark("postgres insert, unnest batch of 1000 rows", configuration: configuration) { benchmark, db in
        let numbers = (0..<1000).map { Int64($0) }
        let notes = Array(repeating: "row", count: 1000)
        for _ in benchmark.scaledIterations {
            try await db.query(
                "INSERT INTO bench_rows (n, note) SELECT * FROM unnest($1::int8[], $2::text[])",
                [.int64Array(numbers), .textArray(notes)])
        }
    } setup: {
        try await postgresWithTable(databaseURL)
    }

    Benchmark("redis SET, one round trip each", configuration: configuration) { benchmark, redis in
        for index in benchmark.scaledIterations {
            try await redis.command("SET", RedisArgument("bench:\(index % 1000)"), "value")
        }
    } setup: {
        RedisClient(configuration: try RedisConfiguration(url: redisURL, poolSize: 1))
    }

    Benchmark("redis SET, pipelined batch of 100", configuration: configuration) { benchmark, redis in
        let commands = (0..<100).map { RedisCommand("SET", RedisArgument("bench:\($0)"), "value") }
        for _ in benchmark.scaledIterations {
            _ = try await redis.pipeline(commands)
        }
    } setup: {
        RedisClient(configuration: try RedisConfiguration(url: redisURL, poolSize: 1))
    }
}

/// A one-connection client with an empty `bench_rows` table.
func postgresWithTable(_ url: String) async throws -> PostgresClient {
    let db = PostgresClient(configuration: try PostgresConfiguration(url: url, poolSize: 1))
    try await db.execute(script: "DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id bigserial PRIMARY KEY, n bigint NOT NULL, note text NOT NULL)")
    return db
}
