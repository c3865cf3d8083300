import Foundation
import IntakeRuntime

/// The HTTP layer's own table (idempotency records), as numbered SQL files.
public enum ServerMigrations {
    public static let module = "server"

    public static func set() throws -> MigrationSet {
        guard let directory = Bundle.module.url(forResource: "SQL", withExtension: nil) else {
            throw MigrationError(code: .invalidMigration, message: "the server's migration files are missing from its resource bundle")
        }
        return try MigrationSet.load(module: module, directory: directory)
    }
}
