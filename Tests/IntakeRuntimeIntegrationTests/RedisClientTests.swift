import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Redis client against a real server")
struct RedisClientTests {
    @Test func valuesAreBinarySafe() async throws {
        try await TestServices.withRedis { redis, prefix in
            let every = (0...255).map { UInt8($0) } + [0, 0, 13, 10]
            let key = RedisArgument(Array((prefix + "bin\u{0}key").utf8))
            try await redis.command("SET", key, RedisArgument(every))
            let value = try await redis.command("GET", key)
            #expect(value == .bulk(every))
            #expect(try await redis.command("GET", RedisArgument(prefix + "missing")) == .null)
            try await redis.command("SET", RedisArgument(prefix + "empty"), RedisArgument([]))
            #expect(try await redis.command("GET", RedisArgument(prefix + "empty")) == .bulk([]))
        }
    }

    @Test func tenThousandCommandPipelineReturnsEveryReply() async throws {
        try await TestServices.withRedis { redis, prefix in
            let key = RedisArgument(prefix + "counter")
            let replies = try await redis.pipeline((0..<10_000).map { _ in RedisCommand("INCR", key) })
            #expect(replies.count == 10_000)
            #expect(replies.first == .integer(1))
            #expect(replies.last == .integer(10_000))
            #expect(replies.enumerated().allSatisfy { $0.element == .integer(Int64($0.offset + 1)) })
        }
    }

    @Test func errorRepliesSurfaceAsErrors() async throws {
        try await TestServices.withRedis { redis, prefix in
            let key = RedisArgument(prefix + "list")
            try await redis.command("RPUSH", key, "a")
            do {
                try await redis.command("INCR", key)
                Issue.record("INCR on a list must fail")
            } catch let error as RedisError {
                #expect(error.code == .errorReply)
                #expect(error.replyPrefix == "WRONGTYPE")
            }
            // In a pipeline the error stays in its place and the others still answer.
            let replies = try await redis.pipeline([RedisCommand("LLEN", key), RedisCommand("INCR", key), RedisCommand("PING")])
            #expect(replies[0] == .integer(1))
            guard case .error(let message) = replies[1] else {
                Issue.record("expected an error reply, got \(replies[1])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(replies[2] == .status("PONG"))
        }
    }

    @Test func reconnectsAfterClientKill() async throws {
        try await TestServices.withRedis(poolSize: 1) { redis, prefix in
            let name = "intake-test-\(UUID().uuidString.prefix(8))"
            try await redis.command("CLIENT", "SETNAME", RedisArgument(name))
            let id = try await redis.command("CLIENT", "ID")
            let admin = RedisClient(configuration: try RedisConfiguration(url: TestServices.redisURL(), poolSize: 1))
            defer { admin.shutdown() }
            let killed = try await admin.command("CLIENT", "KILL", "ID", RedisArgument(String(id.integer ?? -1)))
            #expect(killed == .integer(1))
            // The only pooled connection is dead; the next command reconnects by itself.
            try await redis.command("SET", RedisArgument(prefix + "after"), "ok")
            #expect(try await redis.command("GET", RedisArgument(prefix + "after")).string == "ok")
            let newID = try await redis.command("CLIENT", "ID")
            #expect(newID != id)
        }
    }

    @Test func unreachableServerIsUnavailable() async throws {
        let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1/0", poolSize: 1, timeout: .seconds(1)))
        defer { redis.shutdown() }
        do {
            try await redis.command("PING")
            Issue.record("PING must fail")
        } catch let error as RedisError {
            #expect(error.code == .unavailable)
            #expect(error.isUnavailable)
        }
    }

    @Test func databaseNumberFromTheURLIsSelected() async throws {
        var url = try TestServices.redisURL()
        url = String(url[..<url.lastIndex(of: "/")!]) + "/3"
        let redis = RedisClient(configuration: try RedisConfiguration(url: url, poolSize: 1))
        defer { redis.shutdown() }
        let key = RedisArgument("test:\(UUID().uuidString):db")
        try await redis.command("SET", key, "in-3")
        let info = try await redis.command("CLIENT", "INFO")
        #expect(info.string?.contains("db=3") == true)
        try await redis.command("DEL", key)
    }

    @Test func urlsAreValidated() throws {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "http://127.0.0.1:6379") }
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://127.0.0.1:6379/notanumber") }
        let parsed = try RedisConfiguration(url: "redis://:s%40cret@cache.internal:6380/2")
        #expect(parsed.host == "cache.internal")
        #expect(parsed.port == 6380)
        #expect(parsed.database == 2)
        #expect(parsed.password == "s@cret")
        #expect(!parsed.redactedURL.contains("cret"))
    }
}
