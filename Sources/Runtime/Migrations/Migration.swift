import Foundation

/// One numbered schema change: a SQL script applied once, in a transaction.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the script, hex. An applied migration whose script changed afterwards is
    /// refused: the database no longer matches what the code believes it ran.
    public var checksum: String { Hex.sha256(sql) }
}

/// A module's migrations (the runtime's own tables, the domain's), applied in version order.
public struct MigrationSet: Sendable, Hashable {
    /// Names the set in `schema_migrations`, so each module numbers its files from 1.
    public var module: String
    public private(set) var migrations: [Migration]

    public init(module: String, migrations: [Migration]) throws {
        var seen = Set<Int>()
        for migration in migrations {
            guard migration.version > 0 else {
                throw MigrationError(code: .invalidMigration, message: "\(module) migration \(migration.name): version must be positive")
            }
            guard seen.insert(migration.version).inserted else {
                throw MigrationError(code: .invalidMigration, message: "\(module) has two migrations numbered \(migration.version)")
            }
        }
        self.module = module
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The set a module compiled in: the `NNNN_name.sql` entries under `folder` of its
    /// `EmbeddedResources.files` (path relative to the module's directory → text).
    public static func embedded(module: String, files: [String: String], folder: String = "Migrations/SQL") throws -> MigrationSet {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        let scripts = files.compactMap { path, sql in
            path.hasPrefix(prefix) ? (file: String(path.dropFirst(prefix.count)), sql: sql) : nil
        }
        guard !scripts.isEmpty else {
            throw MigrationError(code: .invalidMigration, message: "\(module) has no migration files under \(folder)")
        }
        return try parse(module: module, scripts: scripts)
    }

    /// Loads `NNNN_name.sql` files from `directory` (other files are ignored).
    public static func load(module: String, directory: URL) throws -> MigrationSet {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(code: .invalidMigration, message: "cannot read migrations of \(module) in \(directory.path): \(error.localizedDescription)")
        }
        let scripts = try files.map { file in
            (file: file, sql: try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
        }
        return try parse(module: module, scripts: scripts)
    }

    /// `NNNN_name.sql` scripts (file name without folder, text) as a set; other names ignored.
    static func parse(module: String, scripts: [(file: String, sql: String)]) throws -> MigrationSet {
        var migrations: [Migration] = []
        for (file, sql) in scripts where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard !stem.contains("/"), let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw MigrationError(code: .invalidMigration, message: "migration file \(file) of \(module) is not named NNNN_name.sql")
            }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return try MigrationSet(module: module, migrations: migrations)
    }
}

/// Why migrating failed.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// An applied migration's script differs from the one in the code.
        public static let checksumMismatch = Code("checksumMismatch")
        /// A migration file is misnamed or numbered twice.
        public static let invalidMigration = Code("invalidMigration")
        /// A migration's SQL failed; nothing of it was applied.
        public static let migrationFailed = Code("migrationFailed")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(code: Code, message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
