import IntakeActors
import IntakeData
import IntakeRuntime

/// The migration sets of every module, in dependency order.
public enum IntakeMigrations {
    public static func all() throws -> [MigrationSet] {
        [try RuntimeMigrations.set(), try DomainMigrations.set(), try ServerMigrations.set(), try DataMigrations.set()]
    }
}
