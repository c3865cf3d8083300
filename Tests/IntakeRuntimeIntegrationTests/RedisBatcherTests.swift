import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Redis batcher against a real server")
struct RedisBatcherTests {
    @Test func concurrentCallersGetTheirOwnRepliesInOrder() async throws {
        try await TestServices.withRedis { redis, prefix in
            let batcher = RedisBatcher(redis: redis, maxCommandsPerPipeline: 64)
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<500 {
                    group.addTask {
                        let replies = try await batcher.send([
                            RedisCommand("SET", RedisArgument("\(prefix)k\(n)"), RedisArgument(n)),
                            RedisCommand("GET", RedisArgument("\(prefix)k\(n)")),
                            RedisCommand("INCR", RedisArgument("\(prefix)count")),
                        ])
                        return replies.count == 3 && replies[1].string == "\(n)" ? 0 : 1
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            #expect(try await redis.command("GET", RedisArgument("\(prefix)count")).string == "500", "every command ran once")
            let error = try await batcher.send([RedisCommand("INCR", RedisArgument("\(prefix)k1x")), RedisCommand("LPOP", RedisArgument("\(prefix)k1"))])
            var isError = false
            if case .error = error[1] { isError = true }
            #expect(isError, "an error reply is a value for its caller alone")
        }
    }

    @Test func aBrokenConnectionFailsEveryWaiter() async throws {
        let dead = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1/0"))
        defer { dead.shutdown() }
        let batcher = RedisBatcher(redis: dead)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask { (try? await batcher.send([RedisCommand("PING")])) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 10)
    }

    /// Redis stops answering: the callers queued behind the lot that times out fail with it.
    /// Before, each later lot went to the server in turn and waited out a timeout of its own,
    /// so a caller that came while the first lot waited could wait twice as long.
    @Test func callersQueuedBehindALotThatTimesOutFailWithIt() async throws {
        let silent = try SilentTCPServer()
        defer { silent.stop() }
        let redis = try silent.redisClient(timeout: .seconds(5))
        defer { redis.shutdown() }
        let batcher = RedisBatcher(redis: redis)
        let first = Task { try await batcher.send([RedisCommand("GET", "first")]) }
        try await waitUntil("the first lot is at the server") { silent.bytesReceived > 0 }
        let sentFirst = silent.bytesReceived
        let queued = Task { try await batcher.send([RedisCommand("GET", "queued")]) }
        for task in [first, queued] {
            await #expect(throws: RedisError.self) { try await task.value }
        }
        #expect(silent.bytesReceived == sentFirst, "nothing was sent after the lot that timed out")
    }
}
