import Foundation
import IntakeRuntime
import Logging

/// Sessions in Redis: `session:<sid>` holds the user id and expires with the token. A token
/// is accepted only while its session exists, so deleting it revokes the token at once. Each
/// user's session ids are also kept in a set, so erasing a user revokes every session.
///
/// Redis being down fails closed: `isActive` throws, and the request gets 503 rather than a
/// revoked token getting through.
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

    public init(redis: RedisClient, prefix: String = "intake:", logger: Logger = Logger(label: "intake.sessions")) {
        self.redis = redis
        self.prefix = prefix
        lookups = RedisBatcher(redis: redis)
        tracking = ClientSideCache(configuration: redis.configuration, prefixes: ["\(prefix)session:"], name: "sessions", logger: logger)
    }

    func sessionKey(_ sessionID: String) -> String { "\(prefix)session:\(sessionID)" }
    func userKey(_ userID: UUID) -> String { "\(prefix)user-sessions:\(userID.lowercased)" }

    /// Starts a session; returns its id.
    public func start(userID: UUID, lifetime: Duration) async throws -> String {
        let sessionID = UUID().lowercasedString
        let seconds = max(1, Int(lifetime.components.seconds))
        let replies = try await redis.pipeline([
            RedisCommand("SET", .init(sessionKey(sessionID)), .init(userID.lowercased), "EX", .init(seconds)),
            RedisCommand("SADD", .init(userKey(userID)), .init(sessionID)),
            RedisCommand("EXPIRE", .init(userKey(userID)), .init(seconds)),
        ])
        for reply in replies { _ = try reply.throwingErrorReply() }
        return sessionID
    }

    /// Whether the session exists and belongs to `userID`.
    public func isActive(_ sessionID: String, userID: UUID) async throws -> Bool {
        let key = sessionKey(sessionID)
        let owner = try await tracking.value(of: key) {
            try await lookups.send([RedisCommand("GET", .init(key))])[0].throwingErrorReply().bytes
        }
        return owner.map { String(decoding: $0, as: UTF8.self) } == userID.lowercased
    }

    public func end(_ sessionID: String, userID: UUID) async throws {
        let replies = try await redis.pipeline([
            RedisCommand("DEL", .init(sessionKey(sessionID))), RedisCommand("SREM", .init(userKey(userID)), .init(sessionID)),
        ])
        for reply in replies { _ = try reply.throwingErrorReply() }
        tracking.invalidate([sessionKey(sessionID)])
    }

    /// Ends every session of a user.
    public func endAll(userID: UUID) async throws {
        let members = try await redis.command("SMEMBERS", .init(userKey(userID))).throwingErrorReply().array ?? []
        let sessionKeys = members.compactMap(\.string).map(sessionKey)
        var commands = sessionKeys.map { RedisCommand("DEL", .init($0)) }
        commands.append(RedisCommand("DEL", .init(userKey(userID))))
        for reply in try await redis.pipeline(commands) { _ = try reply.throwingErrorReply() }
        tracking.invalidate(sessionKeys)
    }
}
