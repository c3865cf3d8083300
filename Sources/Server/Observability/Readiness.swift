import Foundation
import IntakeRuntime

/// What `/readyz` checks: Postgres answers, Redis answers, no migration is pending.
public struct Readiness: Sendable {
    public struct Report: Sendable, Encodable {
        public var ready: Bool
        public var checks: [String: String]
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
