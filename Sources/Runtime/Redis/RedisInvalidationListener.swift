import Foundation
import Logging

/// The connection that receives Redis's invalidation messages for a client-side cache, in
/// broadcasting mode: `CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX …`, then
/// `SUBSCRIBE __redis__:invalidate` (RESP2; hiredis 0.14 has no RESP3). Every write to a key
/// under one of the prefixes, by any client, and every expiry or eviction of one, is then
/// announced on this connection (Redis ≥ 6).
///
/// Runs on its own thread until told to stop; reconnects with backoff when the connection
/// breaks. What it hears goes to `handle` on that thread, in order:
/// - `.tracking` once subscribed (first time, or again after a reconnect);
/// - `.invalidated(keys)`, `.invalidatedAll` (a `FLUSHDB`/`FLUSHALL`);
/// - `.lost` as soon as the connection is found broken or silent — a `PING` unanswered for
///   `silenceLimit` counts as broken, so a stalled connection cannot hide invalidations for
///   long.
struct RedisInvalidationListener: Sendable {
    enum Event: Equatable, Sendable {
        case tracking
        case invalidated([String])
        case invalidatedAll
        case lost
    }

    static let channel = "__redis__:invalidate"

    let configuration: RedisConfiguration
    let prefixes: [String]
    /// `CLIENT SETNAME`, so that operators can tell the connection apart.
    let connectionName: String
    let logger: Logger
    var pingAfter: Duration = .seconds(1)
    var silenceLimit: Duration = .seconds(2)

    /// Returns when `isStopped` says so. While Redis refuses tracking itself (older than 6,
    /// `CLIENT` denied by an ACL) nothing is `.tracking` and the cache stays off; it asks
    /// again every 30 s.
    func run(isStopped: () -> Bool, handle: (Event) -> Void) {
        let connection = RedisConnection(configuration: configuration)
        defer { connection.close() }
        var backoff: Duration = .milliseconds(50)
        while !isStopped() {
            var tracking = false
            do {
                try connection.connect()
                try startTracking(connection)
                tracking = true
                backoff = .milliseconds(50)
                logger.debug("client-side cache tracking", metadata: ["prefixes": "\(prefixes)"])
                handle(.tracking)
                try listen(connection, isStopped: isStopped, handle: handle)
                handle(.lost)
                return
            } catch {
                connection.close()
                if tracking { handle(.lost) }
                let refused = (error as? RedisError)?.code == .errorReply
                if refused { backoff = .seconds(30) }
                logger.warning(
                    refused ? "Redis refuses client-side cache tracking; caching is off" : "client-side cache invalidations lost; reconnecting",
                    metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                BlockingThread.sleep(backoff, unless: isStopped)
                backoff = refused ? backoff : min(backoff * 2, .seconds(2))
            }
        }
    }

    private func startTracking(_ connection: RedisConnection) throws {
        guard let id = try connection.send([RedisCommand("CLIENT", "ID")])[0].throwingErrorReply().integer else {
            throw RedisError(code: .unexpectedReply, message: "CLIENT ID answered something other than an integer")
        }
        var tracking: [RedisArgument] = ["CLIENT", "TRACKING", "ON", "REDIRECT", RedisArgument(Int(id)), "BCAST"]
        for prefix in prefixes { tracking += ["PREFIX", RedisArgument(prefix)] }
        let replies = try connection.send([
            RedisCommand("CLIENT", "SETNAME", RedisArgument(connectionName)), RedisCommand(arguments: tracking),
            RedisCommand("SUBSCRIBE", RedisArgument(Self.channel)),
        ])
        _ = try replies[0].throwingErrorReply()
        _ = try replies[1].throwingErrorReply()
        guard let confirmation = replies[2].array, confirmation.first?.string == "subscribe" else {
            _ = try replies[2].throwingErrorReply()
            throw RedisError(code: .unexpectedReply, message: "SUBSCRIBE was not confirmed: \(replies[2])")
        }
    }

    private func listen(_ connection: RedisConnection, isStopped: () -> Bool, handle: (Event) -> Void) throws {
        let clock = ContinuousClock()
        var lastHeard = clock.now
        var pingSent: ContinuousClock.Instant?
        while !isStopped() {
            let received = try connection.pushes(timeoutMilliseconds: 100)
            if received.isEmpty {
                if let pingSent {
                    if clock.now - pingSent > silenceLimit {
                        throw RedisError(code: .timeout, message: "no answer to PING within \(silenceLimit)")
                    }
                } else if clock.now - lastHeard > pingAfter {
                    try connection.sendOnly(RedisCommand("PING"))
                    pingSent = clock.now
                }
                continue
            }
            lastHeard = clock.now
            pingSent = nil
            for push in received {
                if let event = Self.event(of: push) { handle(event) }
            }
        }
    }

    /// The event a message on the subscribed connection stands for; nil for other traffic
    /// (PING's answer, subscription confirmations).
    static func event(of push: RedisValue) -> Event? {
        guard let parts = push.array, parts.count == 3, parts[0].string == "message", parts[1].string == channel else { return nil }
        switch parts[2] {
        case .null: return .invalidatedAll
        case .array(let keys): return .invalidated(keys.compactMap(\.string))
        case .bulk(let key): return .invalidated([String(decoding: key, as: UTF8.self)])
        default: return nil
        }
    }
}
