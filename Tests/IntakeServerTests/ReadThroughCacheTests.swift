import Foundation
import HummingbirdTesting
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Testing

@Suite("Read-through cache on real Redis")
struct ReadThroughCacheTests {
    /// A Redis that stops answering costs one request per retry interval its timeout: the
    /// next reads go to the source at once, and a change's keys are kept as failed (so reads
    /// keep bypassing the cache) without a wait for Redis (hostile review, session 15: with
    /// Redis frozen, product reads took up to 10 s and orders up to 20 s).
    @Test func aRedisThatStopsAnsweringIsLeftAloneForAWhile() async throws {
        let silent = try SilentTCPServer()
        defer { silent.stop() }
        let redis = try silent.redisClient(timeout: .milliseconds(300))
        defer { redis.shutdown() }
        let cache = ReadThroughCache(redis: redis, prefix: "silent:", outageRetryInterval: .seconds(3600))
        #expect(try await cache.read("k") { Array("v1".utf8) } == Array("v1".utf8), "the source answers once Redis timed out")
        try await waitUntil("the first read asked Redis") { silent.bytesReceived > 0 }
        let asked = silent.bytesReceived
        for version in 2...21 {
            #expect(try await cache.read("k") { Array("v\(version)".utf8) } == Array("v\(version)".utf8))
        }
        await cache.invalidate(["k"])
        #expect(try await cache.read("k") { Array("after".utf8) } == Array("after".utf8))
        #expect(silent.bytesReceived == asked, "nothing more was sent to the Redis that does not answer")
    }

    /// Calls made while the first one still waits are refused once it has waited 2 s: they
    /// do not each wait out the timeout (second hostile review, session 15).
    @Test func readsWhileAnotherWaitsForASilentRedisGoToTheSource() async throws {
        let silent = try SilentTCPServer()
        defer { silent.stop() }
        let redis = try silent.redisClient(timeout: .seconds(60), poolSize: 4)
        defer { redis.shutdown() }
        let cache = ReadThroughCache(redis: redis, prefix: "silent:", outageRetryInterval: .seconds(3600))
        let first = Task { try await cache.read("k") { Array("first".utf8) } }
        try await waitUntil("the first read asked Redis") { silent.bytesReceived > 0 }
        let asked = silent.bytesReceived
        try await Task.sleep(for: .milliseconds(2100))  // at least the breaker's 2 s
        for _ in 0..<5 {
            #expect(try await cache.read("k") { Array("second".utf8) } == Array("second".utf8))
        }
        #expect(silent.bytesReceived == asked, "the later reads did not ask the Redis that does not answer")
        silent.stop()  // the first read's connection ends: it goes to the source too
        #expect(try await first.value == Array("first".utf8))
    }

    /// A Redis that answers reads but refuses writes (`maxmemory` reached) cannot take a
    /// change's invalidation: another process's cache must not go on serving the entry it was
    /// to make stale (second hostile review, session 15: 23 s of stale stock).
    @Test func aRedisThatRefusesWritesIsNotReadFrom() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cache-oom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await EmbeddedRedis.start(dataDirectory: directory)
        let redis = RedisClient(configuration: try RedisConfiguration(url: server.url))
        do {
            try await Self.readerOfARedisThatRefusesWrites(redis)
        } catch {
            redis.shutdown()
            await server.stop()
            throw error
        }
        redis.shutdown()
        await server.stop()
    }

    private static func readerOfARedisThatRefusesWrites(_ redis: RedisClient) async throws {
        let changer = ReadThroughCache(redis: redis, prefix: "oom:")
        let reader = ReadThroughCache(redis: redis, prefix: "oom:")
        let source = Shared("before")
        func read() async throws -> String? {
            try await reader.read("k") { Array(source.withLock { $0 }.utf8) }.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(try await read() == "before")
        #expect(try await read() == "before", "a hit")
        _ = try await redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        _ = try await redis.command("CONFIG", "SET", "maxmemory", "1")
        source.withLock { $0 = "after" }
        await changer.invalidate(["k"])  // refused: OOM
        try await Task.sleep(for: .milliseconds(1100))  // at least the reader's probe interval
        #expect(try await read() == "after", "the reader found Redis refusing writes and read the source")
    }

    @Test func hitsUntilInvalidatedAndAFillFromBeforeAChangeIsNeverServed() async throws {
        try await TestServices.withRedis { redis, prefix in
            let cache = ReadThroughCache(redis: redis, prefix: prefix)
            let loads = Shared(0)
            let source = Shared("v1")
            func read() async throws -> String? {
                try await cache.read("k") {
                    loads.withLock { $0 += 1 }
                    return Array(source.withLock { $0 }.utf8)
                }.map { String(decoding: $0, as: UTF8.self) }
            }
            #expect(try await read() == "v1")
            #expect(try await read() == "v1")
            #expect(loads.withLock { $0 } == 1, "the second read is a hit")
            source.withLock { $0 = "v2" }
            await cache.invalidate(["k"])
            #expect(try await read() == "v2")

            // A reader that loaded before a change and stores after its invalidation: its
            // entry carries the old version and is never served. (The load starts only once
            // the reader has read the version; the change waits for that, then lets the load
            // finish.)
            let loading = Signal()
            let changed = Signal()
            let slowFill = Task {
                try await cache.read("race") {
                    loading.fire()
                    try await changed.wait(for: 1)
                    return Array("before".utf8)
                }
            }
            try await loading.wait(for: 1)
            await cache.invalidate(["race"])
            changed.fire()
            _ = try await slowFill.value
            let after = try await cache.read("race") { Array("after".utf8) }
            #expect(after.map { String(decoding: $0, as: UTF8.self) } == "after")
            #expect(try await cache.read("missing") { nil } == nil)
        }
    }

    /// Versions expire (4 × ttl after a key's last change) while an entry filled just before
    /// may live on: a change after the expiry must still make that entry stale. With counters
    /// it did not (the count started again at 1, the entry's version): a stale read.
    @Test func aChangeAfterTheVersionExpiredStillMakesOldEntriesStale() async throws {
        try await TestServices.withRedis { redis, prefix in
            let cache = ReadThroughCache(redis: redis, prefix: prefix)
            let source = Shared("paid")
            func read() async throws -> String? {
                try await cache.read("order") { Array(source.withLock { $0 }.utf8) }.map { String(decoding: $0, as: UTF8.self) }
            }
            await cache.invalidate(["order"])  // the key's first change
            #expect(try await read() == "paid")  // filled under that version
            try await redis.command("DEL", .init(prefix + "v:order"))  // the version expires; the entry lives on
            source.withLock { $0 = "shipped" }
            await cache.invalidate(["order"])
            #expect(try await read() == "shipped")
        }
    }

    /// An entry filled while its key had no version must not match again when a later
    /// change's version goes missing (expired, or evicted under memory pressure).
    @Test func anEntryFilledBeforeAnyChangeStaysStaleWhenTheChangesVersionIsEvicted() async throws {
        try await TestServices.withRedis { redis, prefix in
            let cache = ReadThroughCache(redis: redis, prefix: prefix)
            let source = Shared("pending")
            func read() async throws -> String? {
                try await cache.read("order") { Array(source.withLock { $0 }.utf8) }.map { String(decoding: $0, as: UTF8.self) }
            }
            #expect(try await read() == "pending")  // no version yet
            source.withLock { $0 = "paid" }
            await cache.invalidate(["order"])
            try await redis.command("DEL", .init(prefix + "v:order"))  // the change's version is evicted
            #expect(try await read() == "paid")
        }
    }

    @Test func aRedisOutageCostsSpeedNotCorrectness() async throws {
        // Nothing listens on this port: every Redis call fails.
        let dead = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1/0"))
        defer { dead.shutdown() }
        let cache = ReadThroughCache(redis: dead, prefix: "x:")
        let value = Shared("one")
        let read = { try await cache.read("k") { Array(value.withLock { $0 }.utf8) }.map { String(decoding: $0, as: UTF8.self) } }
        #expect(try await read() == "one")
        value.withLock { $0 = "two" }
        await cache.invalidate(["k"])
        #expect(try await read() == "two")
    }

    @Test func httpReadsAfterAChangeSeeIt() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            #expect(try await h.call(.get, "/v1/products/\(product)").object["available"] as? Int == 10)
            #expect(try await h.call(.get, "/v1/products/\(product)").object["available"] as? Int == 10)
            let (_, token) = try await h.customer()
            let order = try #require(try await h.order(token, product: product, quantity: 4).object["id"] as? String)
            #expect(try await h.call(.get, "/v1/products/\(product)").object["available"] as? Int == 6)
            #expect(try await h.call(.get, "/v1/orders/\(order)", token: token).object["status"] as? String == "PENDING")
            #expect(try await h.call(.post, "/v1/orders/\(order)/cancel", token: token).status == .ok)
            #expect(try await h.call(.get, "/v1/orders/\(order)", token: token).object["status"] as? String == "CANCELED")
            #expect(try await h.call(.get, "/v1/products/\(product)").object["available"] as? Int == 10)
            let (_, stranger) = try await h.customer()
            #expect(try await h.call(.get, "/v1/orders/\(order)", token: stranger).status == .notFound, "cached reads check the owner too")
        }
    }
}
