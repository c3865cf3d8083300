import Logging

/// A pool of hiredis connections, each driven by its own thread, with an async API.
///
/// ```swift
/// let redis = try RedisClient(configuration: .init(url: "redis://127.0.0.1:6379/0"))
/// try await redis.command("SET", "greeting", "hello")
/// let replies = try await redis.pipeline([RedisCommand("INCR", "a"), RedisCommand("INCR", "b")])
/// ```
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let pool: ConnectionPool<RedisConnection>

    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "intake.redis")) {
        self.configuration = configuration
        let leaseTimeout = configuration.leaseTimeout
        self.pool = ConnectionPool(
            name: "redis",
            size: configuration.poolSize,
            leaseTimeout: leaseTimeout,
            makeConnection: { RedisConnection(configuration: configuration) },
            timeoutError: {
                RedisError(code: .poolTimeout, message: "no Redis connection became free within \(leaseTimeout)")
            },
            shutdownError: { RedisError(code: .poolShutDown, message: "the Redis client has been shut down") })
    }

    /// Runs one command; an error reply throws `RedisError` with code `errorReply`.
    @discardableResult
    public func command(_ arguments: RedisArgument...) async throws -> RedisValue {
        try await send(RedisCommand(arguments: arguments))
    }

    /// Runs one command; an error reply throws `RedisError` with code `errorReply`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try await pipeline([command])[0].throwingErrorReply()
    }

    /// Sends every command, then reads every reply: one round trip. Error replies are returned
    /// in place as `.error`, so one failing command does not hide the others' replies.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try await pool.withLease { lease in
            try await lease.run { try $0.send(commands) }
        }
    }

    /// Closes idle connections now and busy ones as they are released.
    public func shutdown() {
        pool.shutdown()
    }
}
