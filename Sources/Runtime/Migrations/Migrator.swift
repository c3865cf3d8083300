import Logging

/// Applies migration sets to a database, once, even when several processes start together.
///
/// Holds a Postgres advisory lock (per schema) while it works, records each migration in
/// `schema_migrations(module, version, name, checksum, applied_at)` in the same transaction
/// as the migration itself, and refuses to run when an applied migration's script changed.
public struct Migrator: Sendable {
    /// A migration this run applied.
    public struct Applied: Sendable, Hashable {
        public var module: String
        public var version: Int
        public var name: String
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "intake.migrations")) {
        self.client = client
        self.logger = logger
    }

    static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            module text NOT NULL,
            version int NOT NULL,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (module, version)
        )
        """
    static let lockKey = "hashtext('intake.migrations:' || current_schema())"

    /// Applies every pending migration of `sets`, in order (sets in the order given, versions
    /// ascending), and returns what it applied.
    @discardableResult
    public func migrate(_ sets: [MigrationSet]) async throws -> [Applied] {
        try await client.withConnection { session in
            try await session.withAdvisoryLock(Self.lockKey, wait: true) { try await migrate(sets, on: session) } ?? []
        }
    }

    /// Migrations of `sets` not yet applied (empty when the schema is current). Also fails on
    /// a checksum mismatch.
    public func pending(_ sets: [MigrationSet]) async throws -> [Migration] {
        try await client.withConnection { session in
            let applied = try await appliedChecksums(session, creating: false)
            return try sets.flatMap { set in try Self.pending(set, applied: applied) }
        }
    }

    private func migrate(_ sets: [MigrationSet], on session: PostgresSession) async throws -> [Applied] {
        let applied = try await appliedChecksums(session, creating: true)
        var done: [Applied] = []
        for set in sets {
            for migration in try Self.pending(set, applied: applied) {
                try await apply(migration, of: set.module, on: session)
                done.append(Applied(module: set.module, version: migration.version, name: migration.name))
            }
        }
        return done
    }

    private func apply(_ migration: Migration, of module: String, on session: PostgresSession) async throws {
        let label = "\(module) \(migration.version)_\(migration.name)"
        try await session.query("BEGIN")
        do {
            try await session.execute(script: migration.sql)
            try await session.query(
                "INSERT INTO schema_migrations (module, version, name, checksum) VALUES ($1, $2, $3, $4)",
                [.text(module), .int32(Int32(migration.version)), .text(migration.name), .text(migration.checksum)])
            try await session.query("COMMIT")
        } catch {
            _ = try? await session.query("ROLLBACK")
            throw MigrationError(code: .migrationFailed, message: "migration \(label) failed: \(error)", underlying: error)
        }
        logger.info("applied migration", metadata: ["module": "\(module)", "version": "\(migration.version)", "name": "\(migration.name)"])
    }

    private struct Key: Hashable {
        var module: String
        var version: Int
    }

    private func appliedChecksums(_ session: PostgresSession, creating: Bool) async throws -> [Key: String] {
        if creating {
            try await session.query(Self.createTable)
        } else {
            let exists = try await session.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            guard try exists[0].decode("present", as: Bool.self) else { return [:] }
        }
        var applied: [Key: String] = [:]
        for row in try await session.query("SELECT module, version, checksum FROM schema_migrations") {
            applied[Key(module: try row.decode("module"), version: try row.decode("version"))] = try row.decode("checksum")
        }
        return applied
    }

    private static func pending(_ set: MigrationSet, applied: [Key: String]) throws -> [Migration] {
        try set.migrations.filter { migration in
            guard let checksum = applied[Key(module: set.module, version: migration.version)] else { return true }
            guard checksum == migration.checksum else {
                throw MigrationError(
                    code: .checksumMismatch,
                    message: "migration \(set.module) \(migration.version)_\(migration.name) was changed after it was applied "
                        + "(checksum \(checksum.prefix(12))… in the database, \(migration.checksum.prefix(12))… in the code); "
                        + "add a new migration instead of editing an applied one")
            }
            return false
        }
    }
}
