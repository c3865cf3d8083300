import ArgumentParser
import IntakeRuntime
import IntakeServer
import Logging

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and print what was applied.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try connection.configuration()
            LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
            let infrastructure = try await IntakeInfrastructure.start(configuration, logger: Logger(label: "intake"), command: "migrate")
            do {
                let applied = try await infrastructure.migrate()
                if applied.isEmpty {
                    print("nothing to apply: the schema is current")
                } else {
                    for migration in applied {
                        print("applied \(migration.module) \(migration.version)_\(migration.name)")
                    }
                }
            } catch {
                await infrastructure.shutdown()
                throw error
            }
            await infrastructure.shutdown()
        }
    }
}
