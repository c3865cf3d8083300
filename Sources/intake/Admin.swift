import ArgumentParser
import Foundation
import IntakeActors
import IntakeRuntime
import IntakeServer
import Logging

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage admin users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin user (the schema is migrated first). Fails if the email is taken.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The admin's email address.")
        var email: String

        @Option(help: "The admin's password (8..128 characters).")
        var password: String

        func run() async throws {
            try await reportingErrors {
                let configuration = try connection.configuration(validate: true)
                guard (8...128).contains(password.unicodeScalars.count) else { throw ConfigurationError("--password: must be 8..128 characters") }
                LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
                let logger = Logger(label: "intake")
                let secrets = try IntakeSecrets.resolve(configuration, logger: logger)
                let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger, command: "admin")
                do {
                    _ = try await infrastructure.migrate()
                    let users = UserDirectory(
                        db: infrastructure.postgres, vault: try PIIVault(masterKey: secrets.piiKey),
                        history: OrderHistory(db: infrastructure.postgres))
                    let hash = try await PasswordHasher(cost: UInt8(configuration.bcryptCost)).hash(password)
                    let user = try await users.create(email: email, passwordHash: hash, name: nil, region: nil, role: .admin)
                    print("created admin \(user.email) with id \(user.id.lowercasedString)")
                } catch {
                    await infrastructure.shutdown()
                    throw error
                }
                await infrastructure.shutdown()
            }
        }
    }
}
