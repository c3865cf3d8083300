import ArgumentParser
import IntakeRuntime
import IntakeServer
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Intake: connect to (or start) Postgres and Redis, migrate, and serve until SIGINT/SIGTERM.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Interface to listen on (INTAKE_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (INTAKE_PORT, default 8080).")
    var port: Int?

    func run() async throws {
        try await reportingErrors {
            var configuration = try connection.configuration()
            if let host { configuration.host = host }
            if let port { configuration.port = port }
            LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
            let logger = Logger(label: "intake")
            let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger)
            do {
                let applied = try await infrastructure.migrate()
                logger.info("schema is current", metadata: ["applied": "\(applied.count)"])
                logger.notice(
                    "intake is running; SIGINT or SIGTERM stops it",
                    metadata: [
                        "postgres": "\(infrastructure.postgres.configuration.redactedURL)",
                        "redis": "\(infrastructure.redis.configuration.redactedURL)",
                    ])
                let services = IntakeServices(infrastructure: infrastructure, configuration: configuration, logger: logger)
                let group = ServiceGroup(
                    configuration: .init(
                        services: services.all.map { .init(service: $0) },
                        gracefulShutdownSignals: [.sigterm, .sigint],
                        logger: logger))
                try await group.run()
            } catch {
                await infrastructure.shutdown()
                throw error
            }
            logger.notice("shutting down")
            await infrastructure.shutdown()
        }
    }
}
