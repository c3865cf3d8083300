import Foundation
import IntakeRuntime
import Logging
import Metrics
import Synchronization

/// A Redis read-through cache of response bodies that is never wrong, only sometimes slower.
///
/// Each cached key has a version in Redis; an entry records the version it was filled under,
/// and counts only while that is still the current version. A reader reads the version
/// *before* loading from the source, so an entry filled from data older than a change carries
/// a version the change's `invalidate` has already replaced, and is ignored. A version is a
/// random token, never a counter: versions expire (`4 × ttl` after their last change) so that
/// idle keys cost nothing, and a counter that expired would count again from 1 — the version
/// an entry filled just before the expiry may still carry, which a change after it would then
/// have made current again (a stale read for up to `ttl`; hostile review, session 7). A key
/// without a version gets one (`SET NX`) before a reader loads it: an entry filled under "no
/// version" would match again whenever a later change's version expired or was evicted.
///
/// Invalidation has two paths: the changing request's own (`invalidate`, before it is
/// answered: read-your-writes), and the outbox relay's (`CacheInvalidation`), which bumps
/// the version of whatever each published event changed and retries until Redis takes it —
/// so a change whose own invalidation failed, made by a process that then stopped or never
/// reads, still reaches every other process's readers.
///
/// Any Redis error makes a read go to the source (counted as a bypass). An invalidation that
/// fails is kept and retried before the next read or invalidation; until it succeeds, reads
/// bypass the cache entirely, so a lost INCR cannot let a stale entry be served.
///
/// Redis is called through a `CircuitBreaker`: once a call has failed, or has waited 2 s for
/// an answer, the cache leaves Redis alone for `outageRetryInterval` (then tries one call):
/// reads go to the source and a change's keys join the failed ones (so reads keep bypassing
/// until they are sent) without waiting. A Redis that stops answering then costs the calls
/// already waiting their timeouts, not every request (hostile review, session 15: with Redis
/// frozen, product reads took up to 10 s and orders up to 20 s).
///
/// A Redis that answers reads but refuses writes (`-OOM` at `maxmemory`, `-READONLY`) cannot
/// take another process's invalidations, yet would serve the entries they were to make
/// stale. So a read proves, at most once a second, that Redis takes writes (a `SET` of a
/// probe key in the read's own pipeline); a refused write opens the breaker. What such a Redis
/// can still serve stale is bounded by that second (second hostile review, session 15: 23 s,
/// the entry's TTL).
public final class ReadThroughCache: Sendable {
    let redis: RedisClient
    let prefix: String
    let ttl: Int
    /// This cache's versions: a random id of its own and a count, unique across processes
    /// and restarts without a random draw per change.
    private let instance = UUID().lowercasedString
    private let issuedVersions = Mutex(0)
    /// Invalidations Redis did not take; reads bypass the cache until they are sent.
    private let failed = Mutex<Set<String>>([])
    /// In front of every call to Redis.
    private let breaker: CircuitBreaker
    /// When Redis last took a write of this cache (an invalidation, a version, the probe).
    private let lastWriteTaken = Mutex<ContinuousClock.Instant?>(nil)
    private let logger: Logger
    private let hits = Counter(label: "intake_cache_hits_total")
    private let misses = Counter(label: "intake_cache_misses_total")
    private let bypasses = Counter(label: "intake_cache_bypasses_total")

    /// Reads and invalidations of concurrent requests share pipelines.
    private let batcher: RedisBatcher
    /// Changes waiting for their keys' new versions (`invalidate`).
    private let invalidations = Mutex(InvalidationQueue<CheckedContinuation<Void, Never>>())

    /// `outageRetryInterval`: how long after a Redis error the cache is left alone.
    public init(
        redis: RedisClient, prefix: String = "intake:cache:", ttlSeconds: Int = 30, outageRetryInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "intake.cache")
    ) {
        self.redis = redis
        self.breaker = CircuitBreaker(openInterval: outageRetryInterval, slowCall: .seconds(2))
        self.batcher = RedisBatcher(redis: redis)
        self.prefix = prefix
        self.ttl = ttlSeconds
        self.logger = logger
    }

    private func entryKey(_ key: String) -> String { "\(prefix)e:\(key)" }
    private var probeKey: String { "\(prefix)writable" }

    /// `commands`' replies, through the breaker; a reply saying Redis cannot serve now (`-OOM`,
    /// `-LOADING`...) opens it too.
    private func callRedis(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        let replies = try await breaker.call({ try await batcher.send(commands) }, isFailure: RedisError.isUnavailable)
        for reply in replies {
            if case .error(let message) = reply, RedisError(code: .errorReply, message: message).isUnavailable { breaker.trip() }
        }
        return replies
    }

    /// Whether a read should prove that Redis takes writes: none taken for a second.
    private func writeProbeDue() -> Bool {
        lastWriteTaken.withLock { $0.map { ContinuousClock.now - $0 >= .seconds(1) } ?? true }
    }

    private func writeTaken() {
        lastWriteTaken.withLock { $0 = .now }
    }
    private func versionKey(_ key: String) -> String { "\(prefix)v:\(key)" }

    /// The cached bytes of `key`, or `load()`'s (stored for the next reader); nil when the
    /// source has nothing (not cached).
    public func read(_ key: String, load: () async throws -> [UInt8]?) async throws -> [UInt8]? {
        guard !breaker.isOpen, await retryFailedInvalidations() else {
            bypasses.increment()
            return try await load()
        }
        let version: String
        do {
            var commands = [RedisCommand("MGET", .init(versionKey(key)), .init(entryKey(key)))]
            let probe = writeProbeDue()
            if probe { commands.append(RedisCommand("SET", .init(probeKey), "1", "EX", "60")) }
            let replies = try await callRedis(commands)
            if probe {
                _ = try replies[1].throwingErrorReply()
                writeTaken()
            }
            let values = try replies[0].throwingErrorReply().array ?? []
            if let current = values.first?.string {
                version = current
                if let entry = values.last?.bytes, let body = Self.body(of: entry, version: version) {
                    hits.increment()
                    return body
                }
            } else {
                // No version yet (or it expired, or was evicted): give the key one before
                // loading, and fill under it. An entry is never filled under "no version": it
                // would match again whenever a later change's version went missing.
                let replies = try await callRedis([
                    RedisCommand("SET", .init(versionKey(key)), .init(nextVersion()), "NX", "EX", .init(ttl * 4)),
                    RedisCommand("GET", .init(versionKey(key))),
                ])
                _ = try replies[0].throwingErrorReply()
                guard let current = try replies[1].throwingErrorReply().string else {
                    throw RedisError(code: .unexpectedReply, message: "the cache version vanished as it was set")
                }
                version = current
            }
        } catch {
            bypasses.increment()
            logger.debug("cache unavailable; reading the source", metadata: ["error": "\(error)"])
            return try await load()
        }
        misses.increment()
        guard let body = try await load() else { return nil }
        // A fill that fails only costs the next reader a miss; it goes through the breaker so
        // that a Redis frozen since the version was read cannot hold the answer up.
        _ = try? await callRedis([RedisCommand("SET", .init(entryKey(key)), .init(Array(version.utf8) + [0x0A] + body), "EX", .init(ttl))])
        return body
    }

    /// Makes every entry of `keys` stale; call it once the change has committed. Never
    /// throws: what cannot reach Redis now is kept and retried, and reads bypass the cache
    /// meanwhile. Concurrent changes share one new version per key (`InvalidationQueue`).
    public func invalidate(_ keys: [String]) async {
        if keys.isEmpty { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            if invalidations.withLock({ $0.enqueue(keys, for: waiter) }) {
                Task { await sendQueuedInvalidations() }
            }
        }
    }

    private func sendQueuedInvalidations() async {
        while let lot = invalidations.withLock({ $0.nextLot() }) {
            _ = await send(failed.withLock { $0 }.union(lot.keys))
            for waiter in lot.waiters { waiter.resume() }
        }
    }

    /// The commands that make every entry of `keys` stale, for a caller that sends them itself
    /// and retries until they succeed (the outbox relay, `CacheInvalidation`).
    public func invalidationCommands(_ keys: Set<String>) -> [RedisCommand] {
        keys.map { key in RedisCommand("SET", .init(versionKey(key)), .init(nextVersion()), "EX", .init(ttl * 4)) }
    }

    /// Sends the invalidations that failed earlier; false while Redis still cannot take them.
    private func retryFailedInvalidations() async -> Bool {
        let pending = failed.withLock { $0 }
        return pending.isEmpty ? true : await send(pending)
    }

    /// Gives each key a new version. A failed key leaves `failed` only once it was sent, so
    /// no read slips in between taking it out and putting it back.
    private func send(_ keys: Set<String>) async -> Bool {
        do {
            try await sendVersions(keys)
            return true
        } catch {
            failed.withLock { $0.formUnion(keys) }
            logger.debug("cache invalidation postponed", metadata: ["error": "\(error)", "keys": "\(keys.count)"])
            return false
        }
    }

    private func sendVersions(_ keys: Set<String>) async throws {
        for reply in try await callRedis(invalidationCommands(keys)) { _ = try reply.throwingErrorReply() }
        failed.withLock { $0.subtract(keys) }
        writeTaken()
    }

    private func nextVersion() -> String {
        let count = issuedVersions.withLock { count in
            count += 1
            return count
        }
        return "\(instance).\(count)"
    }

    /// The body of an entry `"<version>\n<body>"` filled under `version`.
    static func body(of entry: [UInt8], version: String) -> [UInt8]? {
        guard let newline = entry.firstIndex(of: 0x0A), Array(entry[..<newline]) == Array(version.utf8) else { return nil }
        return Array(entry[(newline + 1)...])
    }
}
