import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Migrations against a real server")
struct MigratorTests {
    func fixtureSet() throws -> MigrationSet {
        let directory = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("migrations")
        return try MigrationSet.load(module: "fixture", directory: directory)
    }

    @Test func loadsNumberedFilesInOrder() throws {
        let set = try fixtureSet()
        #expect(set.migrations.map(\.version) == [1, 2])
        #expect(set.migrations.map(\.name) == ["create_widgets", "add_widget_color"])
        #expect(set.migrations[0].checksum.count == 64)
    }

    @Test func appliesPendingMigrationsOnceAndRecordsThem() async throws {
        try await TestServices.withSchema { db, _ in
            let migrator = Migrator(client: db)
            let set = try fixtureSet()
            #expect(try await migrator.pending([set]).count == 2)
            let first = try await migrator.migrate([set])
            #expect(first.map(\.version) == [1, 2])
            #expect(try await migrator.migrate([set]).isEmpty)
            #expect(try await migrator.pending([set]).isEmpty)
            let rows = try await db.query("SELECT version, name, checksum FROM schema_migrations WHERE module = 'fixture' ORDER BY version")
            #expect(try rows.map { try $0.decode("name", as: String.self) } == ["create_widgets", "add_widget_color"])
            #expect(try rows[0].decode("checksum", as: String.self) == set.migrations[0].checksum)
            let color = try await db.query("SELECT color FROM widgets WHERE id = 1")[0].decode("color", as: String.self)
            #expect(color == "red")
        }
    }

    @Test func twoConcurrentMigratorsApplyEachMigrationOnce() async throws {
        try await TestServices.withSchema { _, configuration in
            let set = try fixtureSet()
            // Two separate clients: two processes starting at the same moment.
            let clients = [PostgresClient(configuration: configuration), PostgresClient(configuration: configuration)]
            defer { clients.forEach { $0.shutdown() } }
            let applied = try await withThrowingTaskGroup(of: [Migrator.Applied].self) { group in
                for client in clients {
                    group.addTask { try await Migrator(client: client).migrate([set]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // One applied both, the other found nothing to do (the script is not idempotent,
            // so a second run would have thrown).
            #expect(applied.map(\.count).sorted() == [0, 2])
            let count = try await clients[0].query("SELECT count(*) AS n FROM schema_migrations").first?.decode("n", as: Int.self)
            #expect(count == 2)
        }
    }

    @Test func aChangedAppliedMigrationRefusesToStart() async throws {
        try await TestServices.withSchema { db, _ in
            let migrator = Migrator(client: db)
            try await migrator.migrate([try fixtureSet()])
            var edited = try fixtureSet().migrations
            edited[0].sql += "\n-- edited after release\n"
            let changed = try MigrationSet(module: "fixture", migrations: edited)
            do {
                try await migrator.migrate([changed])
                Issue.record("a changed migration must be refused")
            } catch let error as MigrationError {
                #expect(error.code == .checksumMismatch)
                #expect(error.message.contains("fixture 1_create_widgets"))
            }
            await #expect(throws: MigrationError.self) { try await migrator.pending([changed]) }
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await TestServices.withSchema { db, _ in
            let broken = try MigrationSet(module: "broken", migrations: [
                Migration(version: 1, name: "ok", sql: "CREATE TABLE a (id int)"),
                Migration(version: 2, name: "half", sql: "CREATE TABLE b (id int); SELECT no_such_function();"),
            ])
            do {
                try await Migrator(client: db).migrate([broken])
                Issue.record("the broken migration must fail")
            } catch let error as MigrationError {
                #expect(error.code == .migrationFailed)
                #expect(error.message.contains("broken 2_half"))
            }
            let versions = try await db.query("SELECT version FROM schema_migrations WHERE module = 'broken'").map { try $0.decode("version", as: Int.self) }
            #expect(versions == [1])
            let tableB = try await db.query("SELECT to_regclass('b') IS NULL AS missing")[0].decode("missing", as: Bool.self)
            #expect(tableB)
        }
    }

    @Test func duplicateVersionsAreRejected() {
        #expect(throws: MigrationError.self) {
            try MigrationSet(module: "m", migrations: [
                Migration(version: 1, name: "a", sql: ""), Migration(version: 1, name: "b", sql: ""),
            ])
        }
    }
}
