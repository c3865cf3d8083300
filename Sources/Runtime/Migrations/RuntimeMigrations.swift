import Foundation

/// The runtime's own tables (work queue, outbox), as numbered SQL files in `Migrations/SQL`.
public enum RuntimeMigrations {
    public static let module = "runtime"

    public static func set() throws -> MigrationSet {
        guard let directory = Bundle.module.url(forResource: "SQL", withExtension: nil) else {
            throw MigrationError(code: .invalidMigration, message: "the runtime's migration files are missing from its resource bundle")
        }
        return try MigrationSet.load(module: module, directory: directory)
    }
}
