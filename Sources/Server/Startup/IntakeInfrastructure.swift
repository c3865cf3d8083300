import Foundation
import IntakeRuntime
import Logging

/// The servers Intake runs on — the configured Postgres and Redis, or embedded ones — and
/// the clients connected to them.
public final class IntakeInfrastructure: Sendable {
    public let postgres: PostgresClient
    /// The group-commit writer's own connection (a pool of one): every batch runs on the same
    /// backend, whose caches and prepared statements stay warm, instead of on whichever pooled
    /// connection another caller released last.
    public let writer: PostgresClient
    public let redis: RedisClient
    public let embeddedPostgres: EmbeddedPostgres?
    public let embeddedRedis: EmbeddedRedis?
    /// Held while this process owns the data directory's embedded servers.
    public let lock: DataDirectoryLock?
    /// Held while this process uses the embedded servers another process owns: that owner
    /// waits for it before stopping them.
    let users: DataDirectoryUsers?
    /// The embedded cluster's pgBackRest: this process's own, or the owner's it attached to;
    /// nil with an external database or without pgBackRest.
    public let backRest: PgBackRest?
    let logger: Logger

    /// What a process does with the data directory's embedded servers.
    public enum EmbeddedUse: Sendable {
        /// Own them, or refuse when another live process does (`intake serve`).
        case exclusive
        /// Use the servers of the live process that owns them; own them only when nobody
        /// does (`intake migrate`, `intake load --in-process` and the other commands).
        case attachOrOwn
    }

    private init(
        postgres: PostgresClient, writer: PostgresClient, redis: RedisClient, embeddedPostgres: EmbeddedPostgres?, embeddedRedis: EmbeddedRedis?,
        lock: DataDirectoryLock?, users: DataDirectoryUsers?, backRest: PgBackRest?, logger: Logger
    ) {
        self.users = users
        self.postgres = postgres
        self.writer = writer
        self.redis = redis
        self.embeddedPostgres = embeddedPostgres
        self.embeddedRedis = embeddedRedis
        self.lock = lock
        self.backRest = backRest
        self.logger = logger
    }

    /// Starts (or attaches to) embedded servers for the URLs that are not configured, then
    /// connects. Only the owner of the data directory's lock ever starts or stops them.
    /// `command` names this process in the lock file.
    public static func start(
        _ configuration: IntakeConfiguration, logger: Logger, command: String = "intake", embedded use: EmbeddedUse = .attachOrOwn
    ) async throws -> IntakeInfrastructure {
        try configuration.validate()
        var databaseURL = configuration.databaseURL
        var redisURL = configuration.redisURL
        var embeddedPostgres: EmbeddedPostgres?
        var embeddedRedis: EmbeddedRedis?
        var lock: DataDirectoryLock?
        var users: DataDirectoryUsers?
        var attachedBackRest: PgBackRest?
        if databaseURL == nil || redisURL == nil {
            switch try await ownOrAttach(configuration.dataDirectory, command: command, use: use, needs: (databaseURL == nil, redisURL == nil)) {
            case .attached(let owner, let joined):
                users = joined
                if databaseURL == nil, let port = owner.postgresPort {
                    databaseURL = try EmbeddedPostgres.url(dataDirectory: configuration.dataDirectory, port: port)
                }
                if redisURL == nil, let port = owner.redisPort {
                    redisURL = try EmbeddedRedis.url(dataDirectory: configuration.dataDirectory, port: port)
                }
                if let repository = owner.backupRepository, let data = owner.postgresData {
                    attachedBackRest = PgBackRest.attached(
                        repository: URL(fileURLWithPath: repository), dataPath: URL(fileURLWithPath: data), logger: logger)
                }
                logger.info("using the embedded servers of \(owner.summary)", metadata: ["data_dir": "\(configuration.dataDirectory.path)"])
            case .owned(let owned):
                lock = owned
                do {
                    if databaseURL == nil {
                        // WAL archiving and backups (pgBackRest), when it is installed.
                        var backups: URL?
                        if PgBackRest.isInstalled {
                            backups = configuration.backupDirectory
                        } else {
                            logger.warning("pgbackrest is not installed: the embedded cluster is not archived or backed up (apt-get install -y pgbackrest)")
                        }
                        embeddedPostgres = try await EmbeddedPostgres.start(dataDirectory: configuration.dataDirectory, backups: backups, logger: logger)
                    }
                    if redisURL == nil {
                        embeddedRedis = try await EmbeddedRedis.start(dataDirectory: configuration.dataDirectory, logger: logger)
                    }
                    try owned.update {
                        $0.postgresPort = embeddedPostgres?.port
                        $0.redisPort = embeddedRedis?.port
                        $0.postgresData = embeddedPostgres?.dataPath.path
                        $0.backupRepository = embeddedPostgres?.backRest?.repository.path
                    }
                } catch {
                    do {
                        try await embeddedPostgres?.stop()
                    } catch let stopError {
                        // The start's own error is the one thrown; a cluster left running is
                        // recovered by the next start (its owner is gone), and said here.
                        logger.error(
                            "the embedded Postgres could not be stopped after a failed start",
                            metadata: ["error": "\(stopError)", "data_dir": "\(configuration.dataDirectory.path)"])
                    }
                    await embeddedRedis?.stop()
                    owned.release()
                    throw error
                }
                databaseURL = databaseURL ?? embeddedPostgres?.url
                redisURL = redisURL ?? embeddedRedis?.url
            }
        }
        let postgres = PostgresClient(
            configuration: try PostgresConfiguration(url: databaseURL ?? "", poolSize: configuration.databasePoolSize),
            logger: logger)
        let writer = PostgresClient(
            configuration: try PostgresConfiguration(url: databaseURL ?? "", poolSize: 1), name: "postgres-writer", logger: logger)
        let redis = RedisClient(
            configuration: try RedisConfiguration(url: redisURL ?? "", poolSize: configuration.redisPoolSize), logger: logger)
        return IntakeInfrastructure(
            postgres: postgres, writer: writer, redis: redis, embeddedPostgres: embeddedPostgres, embeddedRedis: embeddedRedis, lock: lock,
            users: users, backRest: embeddedPostgres?.backRest ?? attachedBackRest, logger: logger)
    }

    private enum Ownership {
        case owned(DataDirectoryLock)
        case attached(DataDirectoryLock.Owner, DataDirectoryUsers)
    }

    /// Takes the data directory's lock, or finds the live owner's servers. An owner that is
    /// still starting has not written its ports yet: wait for them (up to a minute).
    private static func ownOrAttach(
        _ dataDirectory: URL, command: String, use: EmbeddedUse, needs: (postgres: Bool, redis: Bool)
    ) async throws -> Ownership {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            switch try DataDirectoryLock.acquire(dataDirectory, command: command) {
            case .acquired(let lock):
                return .owned(lock)
            case .held(let owner):
                if use == .exclusive {
                    throw EmbeddedError(
                        code: .inUse, message: "\(dataDirectory.path) is in use by \(owner?.summary ?? "another intake process")")
                }
                if let owner, !needs.postgres || owner.postgresPort != nil, !needs.redis || owner.redisPort != nil {
                    // Joined while the owner still holds the data directory: it waits for this
                    // process before stopping its servers. Not joined (it is stopping them), or
                    // gone by the time this one joined: look again — this process may own them.
                    if let joined = try DataDirectoryUsers.join(dataDirectory, whileOwnedBy: owner.pid) { return .attached(owner, joined) }
                    if DataDirectoryLock.holder(of: dataDirectory)?.pid != owner.pid { continue }
                }
                guard ContinuousClock.now < deadline else {
                    throw EmbeddedError(
                        code: .inUse,
                        message: "\(dataDirectory.path) is in use by \(owner?.summary ?? "another intake process"), "
                            + "which has not started the embedded servers this command needs")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Applies every pending migration of the runtime and the domain.
    @discardableResult
    public func migrate() async throws -> [Migrator.Applied] {
        try await Migrator(client: postgres, logger: logger).migrate(IntakeMigrations.all())
    }

    /// Closes the clients, then stops the embedded servers this process owns, if any, and
    /// gives up the data directory.
    public func shutdown() async {
        postgres.shutdown()
        writer.shutdown()
        redis.shutdown()
        users?.release()
        var lastUser: DataDirectoryUsers?
        if let lock, embeddedPostgres != nil || embeddedRedis != nil {
            // Other commands using these servers finish first.
            do {
                lastUser = try await DataDirectoryUsers.awaitLast(lock.file.deletingLastPathComponent()) {
                    logger.notice("waiting for the other intake commands using the embedded servers to finish before stopping them")
                }
            } catch {
                logger.warning("cannot tell whether other commands use the embedded servers; stopping them", metadata: ["error": "\(error)"])
            }
        }
        do {
            try await embeddedPostgres?.stop()
        } catch {
            logger.error("embedded Postgres did not stop cleanly", metadata: ["error": "\(error)"])
        }
        await embeddedRedis?.stop()
        lock?.release()
        lastUser?.release()
    }
}
