import Foundation
import IntakeRuntime

/// The HTTP layer's own table (idempotency records), as numbered SQL files.
public enum ServerMigrations {
    public static let module = "server"

    public static func set() throws -> MigrationSet {
        try MigrationSet.embedded(module: module, files: EmbeddedResources.files)
    }
}
