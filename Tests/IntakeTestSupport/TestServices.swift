import Foundation
import IntakeRuntime
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The throwaway servers `scripts/test` starts. Each test gets its own schema (Postgres) or
/// key prefix (Redis), so tests run in parallel without seeing each other.
public enum TestServices {
    /// How long a test waits for something that happens asynchronously before it fails. The
    /// whole suite runs in parallel on two cores, where a second or two is routine and ten
    /// was seen to pass by: what the tests check is that it happens, not how fast.
    public static let patience: Duration = .seconds(45)

    public struct Missing: Error, CustomStringConvertible {
        var variable: String
        public var description: String { "\(variable) is not set: run the tests with scripts/test" }
    }

    public static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }

    public static func databaseURL() throws -> String { try environment("INTAKE_TEST_DATABASE_URL") }
    public static func redisURL() throws -> String { try environment("INTAKE_TEST_REDIS_URL") }

    /// Runs `body` with the URL of a fresh database (dropped afterwards, with `FORCE` so a
    /// killed process's connections do not keep it), for whole processes and services that
    /// use the default schema — each test its own relay leadership and advisory locks.
    public static func withDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let base = try databaseURL()
        guard let slash = base.lastIndex(of: "/"), base[..<slash].hasSuffix("//") == false else {
            throw Missing(variable: "INTAKE_TEST_DATABASE_URL with a database name")
        }
        let url = base[...slash] + name
        let admin = PostgresClient(configuration: try PostgresConfiguration(url: base, poolSize: 1))
        defer { admin.shutdown() }
        try await admin.query("CREATE DATABASE \(name)")
        do {
            let result = try await body(String(url))
            try await admin.query("DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            _ = try? await admin.query("DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Runs `body` with a client whose `search_path` is a fresh schema, dropped afterwards.
    public static func withSchema<T>(
        poolSize: Int = 4,
        leaseTimeout: Duration = .seconds(10),
        ioTimeout: Duration = .seconds(60),
        _ body: (PostgresClient, PostgresConfiguration) async throws -> T
    ) async throws -> T {
        let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL(), poolSize: 1))
        defer { admin.shutdown() }
        try await admin.query("CREATE SCHEMA \(schema)")
        let configuration = try PostgresConfiguration(
            url: databaseURL(), poolSize: poolSize, leaseTimeout: leaseTimeout, ioTimeout: ioTimeout, searchPath: schema)
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

    public static func withRedis<T>(poolSize: Int = 4, _ body: (RedisClient, String) async throws -> T) async throws -> T {
        let client = RedisClient(configuration: try RedisConfiguration(url: redisURL(), poolSize: poolSize))
        defer { client.shutdown() }
        let prefix = "test:\(UUID().uuidString):"
        return try await body(client, prefix)
    }
}

/// Expects `body` to throw a `PostgresError` and returns it.
public func expectPostgresError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> PostgresError? {
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

extension TestServices {
    /// `withSchema`, with the runtime's tables migrated into the schema.
    public static func withRuntimeSchema<T>(
        poolSize: Int = 8, _ body: (PostgresClient, PostgresConfiguration) async throws -> T
    ) async throws -> T {
        try await withSchema(poolSize: poolSize) { db, configuration in
            try await Migrator(client: db).migrate([try RuntimeMigrations.set()])
            return try await body(db, configuration)
        }
    }
}

/// Waits until `condition` holds, checking every 20 ms, and records an issue if it still
/// does not after `timeout`. For state written asynchronously (batched completions).
public func waitUntil(
    _ description: String, timeout: Duration = TestServices.patience, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout) waiting until \(description)", sourceLocation: sourceLocation)
    throw WaitTimedOut()
}

public struct WaitTimedOut: Error {}

/// Runs `services` in a ServiceGroup while `body` runs, then shuts them down gracefully and
/// waits for them to stop.
public func withRunningServices<T>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    let group = ServiceGroup(
        configuration: .init(services: services.map { .init(service: $0) }, logger: Logger(label: "test.services")))
    let running = Task { try await group.run() }
    do {
        let result = try await body()
        await group.triggerGracefulShutdown()
        try await running.value
        return result
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        throw error
    }
}

/// Counts events from concurrent handlers and lets a test wait for a count.
public final class Signal: Sendable {
    public init() {}
    private let state = Mutex<(count: Int, waiters: [(Int, CheckedContinuation<Void, Never>)])>((0, []))

    public var count: Int { state.withLock { $0.count } }

    public func fire() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            let ready = state.waiters.filter { $0.0 <= state.count }.map(\.1)
            state.waiters.removeAll { $0.0 <= state.count }
            return ready
        }
        ready.forEach { $0.resume() }
    }

    /// Waits until `fire()` has been called `target` times, at most `timeout`.
    public func wait(for target: Int, timeout: Duration = TestServices.patience, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reached = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.state.withLock { state -> Bool in
                        if state.count >= target { return true }
                        state.waiters.append((target, continuation))
                        return false
                    }
                    if now { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            if !first {
                // Unblock the waiting child so the group can finish.
                let pending = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    defer { state.waiters.removeAll() }
                    return state.waiters.map(\.1)
                }
                pending.forEach { $0.resume() }
            }
            group.cancelAll()
            return first
        }
        if !reached {
            Issue.record("timed out after \(timeout) waiting for \(target) signals (got \(count))", sourceLocation: sourceLocation)
            throw WaitTimedOut()
        }
    }
}
