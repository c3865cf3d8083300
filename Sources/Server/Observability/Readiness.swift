import Foundation
import IntakeRuntime

/// What `/readyz` checks: Postgres answers, Redis answers, no migration is pending.
public struct Readiness: Sendable {
    public struct Report: Sendable, Encodable {
        public var ready: Bool
        public var checks: [String: String]

        public init(ready: Bool, checks: [String: String]) {
            self.ready = ready
            self.checks = checks
        }

        /// For `/readyz`, which anyone may read: each failed check says `down`, without the
        /// driver's error (hosts, ports, user names, server messages). The admin dashboard and
        /// the logs keep the whole text.
        public var withoutErrorDetails: Report {
            Report(ready: ready, checks: checks.mapValues { $0.hasPrefix("down") ? "down" : $0 })
        }
    }

    let db: PostgresClient
    let redis: RedisClient
    let migrations: [MigrationSet]

    public init(db: PostgresClient, redis: RedisClient, migrations: [MigrationSet]) {
        self.db = db
        self.redis = redis
        self.migrations = migrations
    }

    public func check() async -> Report {
        async let postgres: String = {
            do {
                let pending = try await Migrator(client: db).pending(migrations)
                return pending.isEmpty ? "ok" : "migrations pending: \(pending.map { "\($0.version)_\($0.name)" }.joined(separator: ", "))"
            } catch {
                return "down: \(error)"
            }
        }()
        async let redisState: String = {
            do {
                _ = try await redis.command("PING").throwingErrorReply()
                return "ok"
            } catch {
                return "down: \(error)"
            }
        }()
        let checks = ["postgres": await postgres, "redis": await redisState]
        return Report(ready: checks.values.allSatisfy { $0 == "ok" }, checks: checks)
    }
}
