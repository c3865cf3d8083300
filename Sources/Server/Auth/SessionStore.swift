import Foundation
import IntakeRuntime
import Logging

/// Sessions in Redis: `session:<sid>` holds the user id and expires with the token. A token
/// is accepted only while its session exists, so deleting it revokes the token at once. Each
/// user's session ids are also kept in a set, so erasing a user revokes every session.
///
/// Redis being down fails closed: `isActive` throws, and the request gets 503 rather than a
/// revoked token getting through. Lookups go through a `CircuitBreaker`: once one found Redis
/// unavailable or waited 2 s for it, lookups fail at once for `outageRetryInterval` (then one
/// is tried) rather than each waiting out Redis's timeouts while it does not answer (hostile
/// review, session 15: orders took up to 20 s to be refused with Redis frozen).
///
/// Session checks are answered from memory (`tracking`, Redis's client-side caching of the
/// `session:` keys) while Redis's invalidations flow, so a request with a known session makes
/// no round trip; a session ended here is forgotten here before `end` returns, one ended by
/// another process as soon as Redis announces it. Run `tracking` as a service; until it runs
/// (or while its connection is down) every check reads Redis.
public struct SessionStore: Sendable {
    let redis: RedisClient
    let prefix: String
    /// Session checks of concurrent requests share a pipeline.
    private let lookups: RedisBatcher
    public let tracking: ClientSideCache
    private let breaker: CircuitBreaker

    /// `maximumAge`: how long a check answered from memory may be (see `ClientSideCache`).
    public init(
        redis: RedisClient, prefix: String = "intake:", maximumAge: Duration = .seconds(1), outageRetryInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "intake.sessions")
    ) {
        self.redis = redis
        breaker = CircuitBreaker(openInterval: outageRetryInterval, slowCall: .seconds(2))
        self.prefix = prefix
        lookups = RedisBatcher(redis: redis)
        tracking = ClientSideCache(
            configuration: redis.configuration, prefixes: ["\(prefix)session:"], name: "sessions", maximumAge: maximumAge, logger: logger)
    }

    func sessionKey(_ sessionID: String) -> String { "\(prefix)session:\(sessionID)" }
    func userKey(_ userID: UUID) -> String { "\(prefix)user-sessions:\(userID.lowercased)" }

    /// How long an erasure refuses new sessions of its user: longer than a sign-in can take
    /// between its password check and its session (`start`).
    static let erasureFence: Duration = .seconds(600)

    func erasedKey(_ userID: UUID) -> String { "\(prefix)user-erased:\(userID.lowercased)" }

    /// Creates the session, adds it to its user's set and extends the set's lifetime to the
    /// session's (never shortens it: an older, longer session must stay findable by
    /// `endAll`) — unless the user is being erased. One script, so an erasure's fence and
    /// `SMEMBERS` see either all of it or none.
    static let startScript = """
        if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
        return 1
        """

    /// Starts a session; returns its id, or nil when the user is being erased (a sign-in
    /// that passed its password check just before the erasure).
    public func start(userID: UUID, lifetime: Duration) async throws -> String? {
        let sessionID = UUID().lowercasedString
        let seconds = max(1, Int(lifetime.components.seconds))
        let started = try await redis.command(
            "EVAL", RedisArgument(Self.startScript), "3", .init(sessionKey(sessionID)), .init(userKey(userID)), .init(erasedKey(userID)),
            .init(userID.lowercased), .init(seconds), .init(sessionID)
        ).throwingErrorReply()
        return started.integer == 1 ? sessionID : nil
    }

    /// Whether the session exists and belongs to `userID`.
    public func isActive(_ sessionID: String, userID: UUID) async throws -> Bool {
        let key = sessionKey(sessionID)
        let owner = try await tracking.value(of: key) {
            let reply: RedisValue
            do {
                reply = try await breaker.call({ try await lookups.send([RedisCommand("GET", .init(key))])[0] }, isFailure: RedisError.isUnavailable)
            } catch is CircuitBreaker.Open {
                throw RedisError(code: .unavailable, message: "redis failed or stalled a session check a moment ago")
            }
            do {
                return try reply.throwingErrorReply().bytes
            } catch let error as RedisError where error.isUnavailable {
                breaker.trip()
                throw error
            }
        }
        return owner.map { String(decoding: $0, as: UTF8.self) } == userID.lowercased
    }

    /// Ends the session; false when it had already ended (of two concurrent logouts with one
    /// token, only the one whose `DEL` removed the key ended it).
    @discardableResult
    public func end(_ sessionID: String, userID: UUID) async throws -> Bool {
        let replies = try await redis.pipeline([
            RedisCommand("DEL", .init(sessionKey(sessionID))), RedisCommand("SREM", .init(userKey(userID)), .init(sessionID)),
        ])
        let deleted = try replies[0].throwingErrorReply().integer
        for reply in replies.dropFirst() { _ = try reply.throwingErrorReply() }
        tracking.invalidate([sessionKey(sessionID)])
        return deleted == 1
    }

    /// Ends every session of a user, and refuses new ones for `erasureFence`: call it before
    /// erasing the user, so that a Redis that cannot take it fails the erasure instead of
    /// leaving the erased user's tokens alive.
    public func endAll(userID: UUID) async throws {
        let fenced = try await redis.pipeline([
            RedisCommand("SET", .init(erasedKey(userID)), "1", "EX", .init(Int(Self.erasureFence.components.seconds))),
            RedisCommand("SMEMBERS", .init(userKey(userID))),
        ])
        _ = try fenced[0].throwingErrorReply()
        let members = try fenced[1].throwingErrorReply().array ?? []
        let sessionKeys = members.compactMap(\.string).map(sessionKey)
        var commands = sessionKeys.map { RedisCommand("DEL", .init($0)) }
        commands.append(RedisCommand("DEL", .init(userKey(userID))))
        for reply in try await redis.pipeline(commands) { _ = try reply.throwingErrorReply() }
        tracking.invalidate(sessionKeys)
    }
}
