import Foundation
import IntakeRuntime
import Logging

/// The servers Intake runs on — the configured Postgres and Redis, or embedded ones — and
/// the clients connected to them.
public final class IntakeInfrastructure: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let embeddedPostgres: EmbeddedPostgres?
    public let embeddedRedis: EmbeddedRedis?
    let logger: Logger

    private init(
        postgres: PostgresClient, redis: RedisClient, embeddedPostgres: EmbeddedPostgres?, embeddedRedis: EmbeddedRedis?,
        logger: Logger
    ) {
        self.postgres = postgres
        self.redis = redis
        self.embeddedPostgres = embeddedPostgres
        self.embeddedRedis = embeddedRedis
        self.logger = logger
    }

    /// Starts embedded servers for the URLs that are not configured, then connects.
    public static func start(_ configuration: IntakeConfiguration, logger: Logger) async throws -> IntakeInfrastructure {
        try configuration.validate()
        var embeddedPostgres: EmbeddedPostgres?
        var embeddedRedis: EmbeddedRedis?
        do {
            if configuration.databaseURL == nil {
                embeddedPostgres = try await EmbeddedPostgres.start(dataDirectory: configuration.dataDirectory, logger: logger)
            }
            if configuration.redisURL == nil {
                embeddedRedis = try await EmbeddedRedis.start(dataDirectory: configuration.dataDirectory, logger: logger)
            }
        } catch {
            try? await embeddedPostgres?.stop()
            await embeddedRedis?.stop()
            throw error
        }
        let databaseURL = configuration.databaseURL ?? embeddedPostgres?.url ?? ""
        let redisURL = configuration.redisURL ?? embeddedRedis?.url ?? ""
        let postgres = PostgresClient(
            configuration: try PostgresConfiguration(url: databaseURL, poolSize: configuration.databasePoolSize),
            logger: logger)
        let redis = RedisClient(
            configuration: try RedisConfiguration(url: redisURL, poolSize: configuration.redisPoolSize), logger: logger)
        return IntakeInfrastructure(
            postgres: postgres, redis: redis, embeddedPostgres: embeddedPostgres, embeddedRedis: embeddedRedis, logger: logger)
    }

    /// Applies every pending migration of the runtime and the domain.
    @discardableResult
    public func migrate() async throws -> [Migrator.Applied] {
        try await Migrator(client: postgres, logger: logger).migrate(IntakeMigrations.all())
    }

    /// Closes the clients, then stops the embedded servers, if any.
    public func shutdown() async {
        postgres.shutdown()
        redis.shutdown()
        do {
            try await embeddedPostgres?.stop()
        } catch {
            logger.error("embedded Postgres did not stop cleanly", metadata: ["error": "\(error)"])
        }
        await embeddedRedis?.stop()
    }
}
