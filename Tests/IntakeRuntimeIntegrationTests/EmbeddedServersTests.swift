import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Embedded Postgres and Redis", .serialized)
struct EmbeddedServersTests {
    /// A data directory too long for the private socket's path is refused before initdb, in
    /// one message that names the cause, instead of `pg_ctl`'s "could not start server" with
    /// the reason only in the server's log (hostile review, session 12).
    @Test func aDataDirectoryTooLongForTheSocketIsRefusedUpFront() async throws {
        let parent = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-long-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: parent) }
        let dataDirectory = parent.appendingPathComponent(String(repeating: "d", count: 80))
        do {
            _ = try await EmbeddedPostgres.start(dataDirectory: dataDirectory)
            Issue.record("a data directory of \(dataDirectory.path.utf8.count) bytes started")
        } catch let error as EmbeddedError {
            #expect(error.code == .dataDirectory)
            #expect(error.description.contains("too long for the embedded Postgres's Unix socket"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("postgres/data/PG_VERSION").path))
    }

    @Test func startStopStartKeepsData() async throws {
        let dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("intake-embedded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: dataDirectory) }

        let postgres = try await EmbeddedPostgres.start(dataDirectory: dataDirectory)
        let redis = try await EmbeddedRedis.start(dataDirectory: dataDirectory)
        #expect(postgres.url.contains("@127.0.0.1:"))
        do {
            let db = PostgresClient(configuration: try PostgresConfiguration(url: postgres.url, poolSize: 1))
            try await db.query("CREATE TABLE kept (note text)")
            try await db.query("INSERT INTO kept VALUES ('survives a restart')")
            let fsync = try await db.query("SHOW fsync")[0].decode(0, as: String.self)
            #expect(fsync == "on")
            db.shutdown()
            let cache = RedisClient(configuration: try RedisConfiguration(url: redis.url, poolSize: 1))
            try await cache.command("SET", "kept", "in the append-only file")
            cache.shutdown()
        }
        try await postgres.stop()
        await redis.stop()

        // Nothing answers on the old ports any more.
        let stopped = PostgresClient(configuration: try PostgresConfiguration(url: postgres.url, poolSize: 1))
        await #expect(throws: PostgresError.self) { try await stopped.query("SELECT 1") }
        stopped.shutdown()

        let postgresAgain = try await EmbeddedPostgres.start(dataDirectory: dataDirectory)
        let redisAgain = try await EmbeddedRedis.start(dataDirectory: dataDirectory)
        do {
            let db = PostgresClient(configuration: try PostgresConfiguration(url: postgresAgain.url, poolSize: 1))
            let note = try await db.query("SELECT note FROM kept")[0].decode("note", as: String.self)
            #expect(note == "survives a restart")
            db.shutdown()
            let cache = RedisClient(configuration: try RedisConfiguration(url: redisAgain.url, poolSize: 1))
            #expect(try await cache.command("GET", "kept").string == "in the append-only file")
            // The generated password is required.
            let anonymous = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(redisAgain.port)/0", poolSize: 1))
            await #expect(throws: RedisError.self) { try await anonymous.command("GET", "kept") }
            anonymous.shutdown()
            cache.shutdown()
        }
        try await postgresAgain.stop()
        await redisAgain.stop()
    }

    /// A restored copy brought in as the cluster carries `archive_mode = 'off'` and a
    /// `restore_command` in postgresql.auto.conf (the restore writes them), which outrank
    /// the settings Intake writes: the next start removes them, so archiving resumes.
    @Test func aRestoredCopysArchiveModeOffDoesNotOutliveTheNextStart() async throws {
        guard PgBackRest.isInstalled else {
            Issue.record("pgbackrest is not installed (scripts/test installs it)")
            return
        }
        let dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-embedded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: dataDirectory) }
        let backups = dataDirectory.appendingPathComponent("backups")
        let postgres = try await EmbeddedPostgres.start(dataDirectory: dataDirectory, backups: backups)
        let db = PostgresClient(configuration: try PostgresConfiguration(url: postgres.url, poolSize: 1))
        try await db.query("ALTER SYSTEM SET archive_mode = off")
        try await db.query("ALTER SYSTEM SET restore_command = 'false'")
        db.shutdown()
        try await postgres.stop()

        let again = try await EmbeddedPostgres.start(dataDirectory: dataDirectory, backups: backups)
        let client = PostgresClient(configuration: try PostgresConfiguration(url: again.url, poolSize: 1))
        #expect(try await client.query("SHOW archive_mode")[0].decode(0, as: String.self) == "on")
        #expect(try await client.query("SHOW restore_command")[0].decode(0, as: String.self) == "")
        client.shutdown()
        try await again.stop()
    }
}
