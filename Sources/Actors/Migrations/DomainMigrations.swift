import Foundation
import IntakeRuntime

/// The domain's tables (catalog, stock, orders, payments), as numbered SQL files.
public enum DomainMigrations {
    public static let module = "orders"

    public static func set() throws -> MigrationSet {
        try MigrationSet.embedded(module: module, files: EmbeddedResources.files)
    }
}
