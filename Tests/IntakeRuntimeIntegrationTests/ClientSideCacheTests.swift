import Foundation
import IntakeTestSupport
import Logging
import Synchronization
import Testing

@testable import IntakeRuntime

/// Redis's client-side caching against a real server: what is answered from memory, and
/// that no change made in Redis is missed for longer than its invalidation takes to arrive.
@Suite("Client-side cache against a real Redis")
struct ClientSideCacheTests {
    final class Reads: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func counted(_ redis: RedisClient, _ key: String) async throws -> [UInt8]? {
            count.withLock { $0 += 1 }
            return try await redis.command("GET", RedisArgument(key)).bytes
        }
    }

    func withCache(_ body: (ClientSideCache, RedisClient, String, String) async throws -> Void) async throws {
        try await TestServices.withRedis { redis, prefix in
            let name = "test-\(UUID().uuidString.prefix(8))"
            // An hour, not the default second: what these tests wait for must come from Redis's
            // invalidations (or a flush), never from an entry growing old.
            let cache = ClientSideCache(
                configuration: redis.configuration, prefixes: [prefix], name: name, maximumAge: .seconds(3600), logger: Logger(label: "test.cache"))
            try await withRunningServices([cache]) {
                try await waitUntil("the cache tracks its prefix") { cache.isTracking }
                try await body(cache, redis, prefix, "intake-cache-\(name)")
            }
            #expect(!cache.isTracking, "a stopped cache answers nothing from memory")
        }
    }

    /// Returns once every invalidation for writes made so far has been handled: a write's
    /// message can otherwise arrive after a later read and (rightly) drop its value.
    func settle(_ cache: ClientSideCache, _ redis: RedisClient, _ prefix: String) async throws {
        let fence = "\(prefix)fence"
        _ = try await cache.value(of: fence) { try await redis.command("GET", RedisArgument(fence)).bytes }
        try await redis.command("SET", RedisArgument(fence), "1")
        try await waitUntil("Redis's messages so far handled") { cache.entry(for: fence) == nil }
    }

    @Test func aValueIsReadOnceAndServedUntilAnotherClientChangesIt() async throws {
        try await withCache { cache, redis, prefix, _ in
            let key = "\(prefix)session:1"
            let reads = Reads()
            try await redis.command("SET", RedisArgument(key), "alice")
            try await settle(cache, redis, prefix)
            #expect(try await cache.value(of: key) { try await reads.counted(redis, key) } == Array("alice".utf8))
            for _ in 0..<20 { #expect(try await cache.value(of: key) { try await reads.counted(redis, key) } == Array("alice".utf8)) }
            #expect(reads.value == 1, "answered from memory after the first read")

            try await redis.command("SET", RedisArgument(key), "bob")
            try await waitUntil("the change is seen") { try await cache.value(of: key) { try await reads.counted(redis, key) } == Array("bob".utf8) }
            try await redis.command("DEL", RedisArgument(key))
            try await waitUntil("the deletion is seen") { try await cache.value(of: key) { try await reads.counted(redis, key) } == nil }
            try await settle(cache, redis, prefix)
            _ = try await cache.value(of: key) { try await reads.counted(redis, key) }
            let before = reads.value
            #expect(try await cache.value(of: key) { try await reads.counted(redis, key) } == nil)
            #expect(reads.value == before, "no such key is an answer kept too")
        }
    }

    /// A key read (and kept) while it lived is not served once Redis expires it. The first
    /// read must come before the expiry: on a machine too busy for that (a fresh clone's CI
    /// run, session 9: more than 3 s passed between the SET and the GET), the key is set
    /// again with twice the lifetime.
    @Test func anExpiredKeyIsNotServed() async throws {
        try await withCache { cache, redis, prefix, _ in
            let key = "\(prefix)session:short"
            var lifetime = 3000
            while true {
                // Taken before the SET: Redis starts the lifetime when it runs the command, which
                // a busy machine may answer seconds later.
                let setAt = ContinuousClock.now
                try await redis.command("SET", RedisArgument(key), "alice", "PX", RedisArgument(String(lifetime)))
                let first = try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes }
                if first == Array("alice".utf8) { break }
                let late = ContinuousClock.now - setAt >= .milliseconds(lifetime)
                #expect(late && lifetime < 48_000, "the key was not served while it lived")
                guard late, lifetime < 48_000 else { return }
                lifetime *= 2
            }
            try await waitUntil("Redis announces the expiry", timeout: .milliseconds(lifetime) + TestServices.patience) {
                try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes } == nil
            }
        }
    }

    /// Keys outside the tracked prefixes are never announced, so never kept.
    @Test func otherKeysAreAlwaysRead() async throws {
        try await withCache { cache, redis, prefix, _ in
            let key = "other:\(prefix)"
            let reads = Reads()
            defer { Task { try? await redis.command("DEL", RedisArgument(key)) } }
            try await redis.command("SET", RedisArgument(key), "1")
            for _ in 0..<3 { _ = try await cache.value(of: key) { try await reads.counted(redis, key) } }
            #expect(reads.value == 3)
        }
    }

    /// The race Redis's documentation warns of: a read's answer, older than a write whose
    /// invalidation has already been handled, must not be kept (it would be served until the
    /// key's next change). The read here writes the key after reading it and waits until the
    /// invalidation arrived before answering.
    @Test func aReadOvertakenByAWriteIsNotKept() async throws {
        try await withCache { cache, redis, prefix, _ in
            let key = "\(prefix)session:race"
            try await redis.command("SET", RedisArgument(key), "old")
            let answered = try await cache.value(of: key) {
                let old = try await redis.command("GET", RedisArgument(key)).bytes
                try await redis.command("SET", RedisArgument(key), "new")
                try await waitUntil("the write's invalidation arrived") { cache.entry(for: key) == nil }
                return old
            }
            #expect(answered == Array("old".utf8), "the read answers what it read")
            #expect(try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes } == Array("new".utf8))
        }
    }

    /// While the invalidation connection is down nothing is answered from memory, and a
    /// change made meanwhile (never announced) is seen once it is back.
    @Test func aChangeMadeWhileDisconnectedIsNotMissed() async throws {
        try await withCache { cache, redis, prefix, connectionName in
            let key = "\(prefix)session:2"
            try await redis.command("SET", RedisArgument(key), "alice")
            #expect(try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes } == Array("alice".utf8))
            // Kill the invalidation connection and change the key in one round trip: Redis
            // announces the change to no one.
            let clients = try await redis.command("CLIENT", "LIST", "TYPE", "pubsub").string ?? ""
            let id = try #require(
                clients.split(separator: "\n").first { $0.contains("name=\(connectionName) ") }?.split(separator: " ").first?.dropFirst(3))
            let replies = try await redis.pipeline([
                RedisCommand("CLIENT", "KILL", "ID", RedisArgument(String(id))), RedisCommand("SET", RedisArgument(key), "bob"),
            ])
            #expect(replies[0] == .integer(1))
            try await waitUntil("reconnected and tracking again") {
                let clients = try await redis.command("CLIENT", "LIST", "TYPE", "pubsub").string ?? ""
                let reconnected = clients.split(separator: "\n").contains { $0.contains("name=\(connectionName) ") && !$0.hasPrefix("id=\(id) ") }
                return reconnected && cache.isTracking
            }
            #expect(try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes } == Array("bob".utf8))
            let reads = Reads()
            _ = try await cache.value(of: key) { try await reads.counted(redis, key) }
            _ = try await cache.value(of: key) { try await reads.counted(redis, key) }
            #expect(reads.value == 0, "served from memory again once reconnected")
        }
    }

    /// This process's own change is seen here before `invalidate` returns, without waiting
    /// for Redis's message.
    @Test func invalidateForgetsAtOnce() async throws {
        try await withCache { cache, redis, prefix, _ in
            let key = "\(prefix)session:3"
            try await redis.command("SET", RedisArgument(key), "alice")
            _ = try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes }
            try await redis.command("DEL", RedisArgument(key))
            cache.invalidate([key])
            #expect(try await cache.value(of: key) { try await redis.command("GET", RedisArgument(key)).bytes } == nil)
        }
    }
}
