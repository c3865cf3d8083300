import Foundation

/// The runtime's own tables (work queue, outbox), as numbered SQL files in `Migrations/SQL`.
public enum RuntimeMigrations {
    public static let module = "runtime"

    public static func set() throws -> MigrationSet {
        try MigrationSet.embedded(module: module, files: EmbeddedResources.files)
    }
}
