import Foundation
import IntakeRuntime
import Testing

/// The throwaway servers `scripts/test` starts. Each test gets its own schema (Postgres) or
/// key prefix (Redis), so tests run in parallel without seeing each other.
enum TestServices {
    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String { "\(variable) is not set: run the tests with scripts/test" }
    }

    static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }

    static func databaseURL() throws -> String { try environment("INTAKE_TEST_DATABASE_URL") }
    static func redisURL() throws -> String { try environment("INTAKE_TEST_REDIS_URL") }

    /// Runs `body` with a client whose `search_path` is a fresh schema, dropped afterwards.
    static func withSchema<T>(
        poolSize: Int = 4,
        leaseTimeout: Duration = .seconds(10),
        _ body: (PostgresClient, PostgresConfiguration) async throws -> T
    ) async throws -> T {
        let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL(), poolSize: 1))
        defer { admin.shutdown() }
        try await admin.query("CREATE SCHEMA \(schema)")
        let configuration = try PostgresConfiguration(
            url: databaseURL(), poolSize: poolSize, leaseTimeout: leaseTimeout, searchPath: schema)
        let client = PostgresClient(configuration: configuration)
        do {
            let result = try await body(client, configuration)
            client.shutdown()
            try await admin.query("DROP SCHEMA \(schema) CASCADE")
            return result
        } catch {
            client.shutdown()
            _ = try? await admin.query("DROP SCHEMA \(schema) CASCADE")
            throw error
        }
    }

    static func withRedis<T>(poolSize: Int = 4, _ body: (RedisClient, String) async throws -> T) async throws -> T {
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL(), poolSize: poolSize))
        defer { client.shutdown() }
        let prefix = "test:\(UUID().uuidString):"
        return try await body(client, prefix)
    }
}

/// Expects `body` to throw a `PostgresError` and returns it.
func expectPostgresError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> PostgresError? {
    do {
        try await body()
        Issue.record("expected a PostgresError, but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as PostgresError {
        return error
    } catch {
        Issue.record("expected a PostgresError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
