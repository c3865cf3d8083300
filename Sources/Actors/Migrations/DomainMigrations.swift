import Foundation
import IntakeRuntime

/// The domain's tables (catalog, stock, orders, payments), as numbered SQL files.
public enum DomainMigrations {
    public static let module = "orders"

    public static func set() throws -> MigrationSet {
        guard let directory = Bundle.module.url(forResource: "SQL", withExtension: nil) else {
            throw MigrationError(code: .invalidMigration, message: "the domain's migration files are missing from its resource bundle")
        }
        return try MigrationSet.load(module: module, directory: directory)
    }
}
