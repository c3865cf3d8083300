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

    @Option(parsing: .unconditional, help: "Port to listen on (INTAKE_PORT, default 8080).")
    var port: Int?

    @Option(help: "Unpaid PENDING orders are canceled after this: seconds, 90s, 15m, 1h (INTAKE_PAYMENT_TTL, default 15m).")
    var paymentTTL: String?

    @Option(help: "Access token and session lifetime (INTAKE_TOKEN_TTL, default 1h).")
    var tokenTTL: String?

    @Option(help: "Default stock shards per product, 1..64 (INTAKE_STOCK_SHARDS, default 8).")
    var stockShards: String?

    @Option(help: "Postgres connections (INTAKE_DB_POOL_SIZE, default 16).")
    var dbPoolSize: String?

    @Option(help: "Redis connections (INTAKE_REDIS_POOL_SIZE, default 8).")
    var redisPoolSize: String?

    @Option(help: "Redis stream for events (INTAKE_EVENT_STREAM, default intake:events).")
    var eventStream: String?

    @Option(help: "Event type prefix (INTAKE_EVENT_TYPE_PREFIX, default com.example).")
    var eventTypePrefix: String?

    @Option(help: "Comma-separated webhook URLs that receive every event (INTAKE_EVENT_WEBHOOKS).")
    var eventWebhooks: String?

    @Option(help: "Create this admin on start if absent (INTAKE_ADMIN_EMAIL; with --admin-password).")
    var adminEmail: String?

    @Option(help: "Password of --admin-email (INTAKE_ADMIN_PASSWORD). Prefer the variable: flags show in ps.")
    var adminPassword: String?

    @Option(help: "Token signing secret (INTAKE_JWT_SECRET). Prefer the variable: flags show in ps.")
    var jwtSecret: String?

    @Option(help: "Payment webhook secret (INTAKE_WEBHOOK_SECRET). Prefer the variable: flags show in ps.")
    var webhookSecret: String?

    @Option(help: "PII master key, base64 of 32 bytes (INTAKE_PII_KEY). Prefer the variable: flags show in ps.")
    var piiKey: String?

    @Option(help: "bcrypt cost of password hashes, 4..31 (INTAKE_BCRYPT_COST, default 10).")
    var bcryptCost: String?

    @Option(help: "A crashed worker's jobs run again after this (INTAKE_JOB_LEASE, default 60s).")
    var jobLease: String?

    func run() async throws {
        try await reportingErrors {
            let configuration = try connection.configuration(overriding: [
                "INTAKE_HOST": host, "INTAKE_PORT": port.map(String.init), "INTAKE_PAYMENT_TTL": paymentTTL, "INTAKE_TOKEN_TTL": tokenTTL,
                "INTAKE_STOCK_SHARDS": stockShards, "INTAKE_DB_POOL_SIZE": dbPoolSize, "INTAKE_REDIS_POOL_SIZE": redisPoolSize,
                "INTAKE_EVENT_STREAM": eventStream, "INTAKE_EVENT_TYPE_PREFIX": eventTypePrefix, "INTAKE_EVENT_WEBHOOKS": eventWebhooks,
                "INTAKE_ADMIN_EMAIL": adminEmail, "INTAKE_ADMIN_PASSWORD": adminPassword, "INTAKE_JWT_SECRET": jwtSecret,
                "INTAKE_WEBHOOK_SECRET": webhookSecret, "INTAKE_PII_KEY": piiKey, "INTAKE_BCRYPT_COST": bcryptCost, "INTAKE_JOB_LEASE": jobLease,
            ], validate: true)
            LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
            PrometheusExport.bootstrap()
            let tracing = try TracingExport.bootstrap(endpoint: configuration.otlpEndpoint)
            let logger = Logger(label: "intake")
            let secrets = try IntakeSecrets.resolve(configuration, logger: logger)
            let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger, command: "serve", embedded: .exclusive)
            do {
                let applied = try await infrastructure.migrate()
                logger.info("schema is current", metadata: ["applied": "\(applied.count)"])
                let services = try await IntakeServices(
                    infrastructure: infrastructure, configuration: configuration, secrets: secrets, logger: logger)
                try await services.bootstrapAdmin(configuration, logger: logger)
                let postgresURL = infrastructure.postgres.configuration.redactedURL
                let redisURL = infrastructure.redis.configuration.redactedURL
                let listening = configuration
                let lock = infrastructure.lock
                let http = services.application(configuration, logger: logger) { port in
                    do {
                        try lock?.update { $0.httpURL = "http://\(listening.host):\(port)" }
                    } catch {
                        logger.warning("could not record the HTTP address in the data directory's lock file", metadata: ["error": "\(error)"])
                    }
                    logger.notice(
                        "intake is listening; SIGINT or SIGTERM stops it",
                        metadata: ["url": "http://\(listening.host):\(port)", "postgres": "\(postgresURL)", "redis": "\(redisURL)"])
                }
                // Started last, stopped first: no new request is accepted once shutdown
                // begins, in-flight ones finish, then the writer flushes.
                let group = ServiceGroup(
                    configuration: .init(
                        services: ((tracing.map { [$0] } ?? []) + services.all + [http]).map { .init(service: $0) },
                        gracefulShutdownSignals: [.sigterm, .sigint],
                        logger: logger))
                try await group.run()
            } catch {
                await infrastructure.shutdown()
                throw ListenError.from(error, host: configuration.host, port: configuration.port) ?? error
            }
            logger.notice("shutting down")
            await infrastructure.shutdown()
        }
    }
}
