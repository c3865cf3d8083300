import Foundation
import IntakeRuntime

/// The data side's tables (`etl_runs`, `dq_results`), as numbered SQL files.
public enum DataMigrations {
    public static let module = "data"

    public static func set() throws -> MigrationSet {
        try MigrationSet.embedded(module: module, files: EmbeddedResources.files)
    }
}
