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
            try configuration.validate()
            LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
            PrometheusExport.bootstrap()
            let logger = Logger(label: "intake")
            let secrets = try IntakeSecrets.resolve(configuration, logger: logger)
            let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger)
            do {
                let applied = try await infrastructure.migrate()
                logger.info("schema is current", metadata: ["applied": "\(applied.count)"])
                let services = try await IntakeServices(
                    infrastructure: infrastructure, configuration: configuration, secrets: secrets, logger: logger)
                try await services.bootstrapAdmin(configuration, logger: logger)
                let postgresURL = infrastructure.postgres.configuration.redactedURL
                let redisURL = infrastructure.redis.configuration.redactedURL
                let listening = configuration
                let http = services.application(configuration, logger: logger) { port in
                    logger.notice(
                        "intake is listening; SIGINT or SIGTERM stops it",
                        metadata: ["url": "http://\(listening.host):\(port)", "postgres": "\(postgresURL)", "redis": "\(redisURL)"])
                }
                // Started last, stopped first: no new request is accepted once shutdown
                // begins, in-flight ones finish, then the writer flushes.
                let group = ServiceGroup(
                    configuration: .init(
                        services: (services.all + [http]).map { .init(service: $0) },
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
