import Foundation
import Testing

@testable import IntakeRuntime

@Suite("Migration sets compiled into the code")
struct MigrationSetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The embedded scripts are byte for byte the files: a changed byte would change a
    /// checksum, and every database that ran the file would refuse to start.
    @Test func theRuntimesEmbeddedScriptsAreItsFilesExactly() throws {
        let embedded = try RuntimeMigrations.set()
        let onDisk = try MigrationSet.load(module: RuntimeMigrations.module, directory: Self.root.appendingPathComponent("Sources/Runtime/Migrations/SQL"))
        #expect(embedded == onDisk)
        #expect(embedded.migrations.map(\.version) == Array(1...embedded.migrations.count))
    }

    @Test func onlyScriptsDirectlyInTheFolderCount() throws {
        let set = try MigrationSet.embedded(module: "m", files: [
            "Migrations/SQL/0002_b.sql": "SELECT 2", "Migrations/SQL/0001_a.sql": "SELECT 1",
            "Migrations/SQL/README.md": "notes", "openapi.yaml": "openapi: 3.1.0",
        ])
        #expect(set.migrations.map(\.name) == ["a", "b"])
        #expect(set.migrations.map(\.sql) == ["SELECT 1", "SELECT 2"])
    }

    @Test func misnamedNestedOrMissingScriptsAreRefused() {
        for files in [["Migrations/SQL/first.sql": "x"], ["Migrations/SQL/old/0001_a.sql": "x"], ["openapi.yaml": "x"],
                      ["Migrations/SQL/0001_a.sql": "x", "Migrations/SQL/0001_b.sql": "y"]] {
            #expect(throws: MigrationError.self, "\(files)") { try MigrationSet.embedded(module: "m", files: files) }
        }
    }
}
