import Foundation
import IntakeRuntime

/// The data side's tables (`etl_runs`, `dq_results`), as numbered SQL files.
public enum DataMigrations {
    public static let module = "data"

    public static func set() throws -> MigrationSet {
        try MigrationSet.load(module: module, bundle: .module)
    }
}
