import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Redis's server-assisted client-side caching, in broadcasting mode: values read from Redis
/// under some key prefixes are kept in this process and answered from memory until Redis
/// announces a change to their key (any client's write, an expiry, an eviction, a flush).
///
/// ```swift
/// let cache = ClientSideCache(configuration: redisConfiguration, prefixes: ["app:session:"], name: "sessions", logger: logger)
/// // run `cache` as a service (it holds the invalidation connection), then:
/// let value = try await cache.value(of: "app:session:42") { try await redis.command("GET", "app:session:42").bytes }
/// ```
///
/// Safe against the race Redis's documentation names (a read's answer overtaken by the
/// invalidation of its key): a value is stored only if nothing invalidated its key while it
/// was being read (`StateMachine`). Nothing is answered from memory while invalidations are not
/// flowing — before `run` subscribed, while reconnecting, after a `PING` went unanswered for
/// 2 s: every lookup then reads Redis. What a change made elsewhere leaves stale here is the
/// time its invalidation takes to arrive (a message on a local socket: well under a
/// millisecond on a loopback host); `invalidate` makes this process's own changes visible at
/// once. A value is answered from memory for at most `maximumAge` after it was read, which
/// bounds what Redis does not announce (`SWAPDB`; a change during a stall shorter than the
/// listener's `PING` limit). Values are kept at most `capacity` keys (all dropped when full); keys outside
/// `prefixes` are never kept. The invalidation connection is named `intake-cache-<name>`
/// (`CLIENT LIST`).
public final class ClientSideCache: Service, Sendable {
    private let listener: RedisInvalidationListener
    private let state: Mutex<StateMachine>
    private let hits: Counter
    private let misses: Counter
    private let bypasses: Counter

    public init(
        configuration: RedisConfiguration, prefixes: [String], name: String, capacity: Int = 100_000, maximumAge: Duration = .seconds(1),
        logger: Logger
    ) {
        listener = RedisInvalidationListener(configuration: configuration, prefixes: prefixes, connectionName: "intake-cache-\(name)", logger: logger)
        state = Mutex(StateMachine(capacity: capacity, prefixes: prefixes, maximumAge: maximumAge))
        let label = "intake_client_cache_lookups_total"
        hits = Counter(label: label, dimensions: [("cache", name), ("result", "hit")])
        misses = Counter(label: label, dimensions: [("cache", name), ("result", "miss")])
        bypasses = Counter(label: label, dimensions: [("cache", name), ("result", "bypass")])
    }

    /// The value of `key`: from memory when it is known current, else from `read` (which
    /// must read Redis: a GET's bulk reply, nil for no key).
    public func value(of key: String, read: () async throws -> [UInt8]?) async throws -> [UInt8]? {
        switch state.withLock({ $0.lookup(key) }) {
        case .hit(let value):
            hits.increment()
            return value
        case .miss(let ticket):
            misses.increment()
            let value = try await read()
            state.withLock { _ = $0.fill(ticket, with: value) }
            return value
        case .bypass:
            bypasses.increment()
            return try await read()
        }
    }

    /// Forgets `keys` now: for this process's own writes, which must be seen here at once
    /// rather than when Redis's invalidation arrives. Call it after the write succeeded.
    public func invalidate(_ keys: [String]) {
        state.withLock { $0.invalidate(keys) }
    }

    /// Whether values are being answered from memory (invalidations flowing).
    public var isTracking: Bool { state.withLock { $0.tracking } }

    func entry(for key: String) -> StateMachine.Entry? { state.withLock { $0.entries[key] } }

    /// Holds the invalidation connection until graceful shutdown or cancellation.
    public func run() async throws {
        let stopped = Mutex(false)
        let thread = BlockingThread(name: "redis-invalidations")
        async let listening: Void = thread.run { [listener] in
            listener.run(isStopped: { stopped.withLock { $0 } }, handle: { event in self.handle(event) })
        }
        try? await gracefulShutdown()
        stopped.withLock { $0 = true }
        try? await listening
        thread.stop()
        state.withLock { $0.trackingLost() }
    }

    func handle(_ event: RedisInvalidationListener.Event) {
        state.withLock { state in
            switch event {
            case .tracking: state.trackingStarted()
            case .invalidated(let keys): state.invalidate(keys)
            case .invalidatedAll: state.invalidateAll()
            case .lost: state.trackingLost()
            }
        }
    }
}
