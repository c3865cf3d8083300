import Hummingbird
import IntakeActors
import IntakeData
import IntakeRuntime
import Logging
import ServiceLifecycle

/// The long-running parts of one `intake` process, in the order a `ServiceGroup` must start
/// them. It stops them in reverse: first the producers of work (scheduler, queue workers),
/// then the relay, and the group-commit writer last, so that every write acknowledged
/// before SIGTERM is committed.
public struct IntakeServices: Sendable {
    public let groupCommit: GroupCommit
    public let workQueue: WorkQueue
    public let relay: OutboxRelay
    public let rescuer: JobRescuer
    public let scheduler: JobScheduler
    public let orders: OrderService
    public let idleCollector: IdleCollector
    /// The data side; nil when the DuckDB CLI cannot be found (logged).
    public let data: DataPlatform?
    /// The HTTP API over `orders` and the users; add its routes to a router.
    public let api: IntakeAPI

    /// `readCache`: whether HTTP reads go through the Redis cache (whose invalidation then
    /// costs a Redis round trip per change); off for an in-process driver that serves no reads.
    public init(
        infrastructure: IntakeInfrastructure, configuration: IntakeConfiguration, secrets: IntakeSecrets, readCache: Bool = true,
        logger: Logger
    ) async throws {
        let db = infrastructure.postgres
        groupCommit = GroupCommit(client: infrastructure.writer, logger: logger)
        workQueue = WorkQueue(client: db, configuration: WorkQueueConfiguration(lease: configuration.jobLease), logger: logger)
        let outboxPruner = OutboxPruner.job(client: db)
        outboxPruner.register(on: workQueue)
        let idempotencyPruner = IdempotencyRecords.pruningJob(client: db)
        idempotencyPruner.register(on: workQueue)
        let jobPruner = JobPruner.job(client: db)
        jobPruner.register(on: workQueue)
        WebhookDelivery().register(on: workQueue)
        // Always built: even a process that serves no cached reads invalidates, through its
        // relay, what its changes make stale for the processes that do.
        let cache = ReadThroughCache(redis: infrastructure.redis, logger: logger)
        var sinks: [any OutboxSink] = [
            RedisStreamSink(redis: infrastructure.redis, stream: configuration.eventStream) { CacheInvalidation.commands($0, cache: cache) }
        ]
        if !configuration.eventWebhooks.isEmpty {
            sinks.append(WebhookSink(client: db, urls: configuration.eventWebhooks))
        }
        relay = OutboxRelay(client: db, sinks: sinks, logger: logger)
        relay.receivesNotificationsLocally(from: groupCommit)
        rescuer = JobRescuer(client: db, logger: logger)
        orders = OrderService(
            db: db, groupCommit: groupCommit,
            settings: .init(paymentTTL: configuration.paymentTTL, eventTypePrefix: configuration.eventTypePrefix), logger: logger)
        PaymentTimeoutSweep(service: orders, logger: logger).register(on: workQueue)
        orders.inventoryUpdates.register(on: workQueue)
        idleCollector = IdleCollector(registries: orders.registries)
        let data: DataPlatform?
        do {
            data = try DataPlatform(db: db, settings: try configuration.dataSettings(), logger: logger)
        } catch let error as DataError where error.code == .duckdb {
            logger.warning("the data pipelines and warehouse are off", metadata: ["error": "\(error)"])
            data = nil
        }
        data?.register(on: workQueue)
        self.data = data
        // Backups of the embedded cluster, by the process that owns it.
        var backupJobs: [PeriodicJob] = []
        if infrastructure.embeddedPostgres != nil, let backRest = infrastructure.backRest {
            let backups = BackupJobs(backRest: backRest, logger: logger)
            backups.register(on: workQueue)
            backupJobs = [try BackupJobs.periodicJob()]
            do {
                try await backups.ensureFirstBackup(on: workQueue)
            } catch {
                logger.warning("could not check for a first backup", metadata: ["error": "\(error)"])
            }
        }
        scheduler = JobScheduler(client: db, jobs: Self.recurringJobs(db: db, data: data) + backupJobs, logger: logger)
        api = IntakeAPI(
            orders: orders,
            users: UserDirectory(db: db, vault: try PIIVault(masterKey: secrets.piiKey), history: orders.history),
            sessions: SessionStore(redis: infrastructure.redis, logger: logger),
            tokens: await TokenIssuer(secret: secrets.jwtSecret, lifetime: configuration.tokenTTL),
            passwords: PasswordHasher(cost: UInt8(configuration.bcryptCost)),
            webhook: WebhookSignature(secret: secrets.webhookSecret),
            readiness: Readiness(db: db, redis: infrastructure.redis, migrations: try IntakeMigrations.all()),
            cache: readCache ? cache : nil,
            settings: .init(defaultStockShards: configuration.stockShards), data: data, logger: logger)
    }

    /// Every recurring job of a process (the batch schedule `intake jobs schedule` shows). Every
    /// retention is one of them: one mechanism, one process at a time.
    public static func recurringJobs(db: PostgresClient, data: DataPlatform?) -> [PeriodicJob] {
        [
            OutboxPruner.job(client: db).periodicJob(), IdempotencyRecords.pruningJob(client: db).periodicJob(),
            JobPruner.job(client: db).periodicJob(schedule: .every(.seconds(60))), PaymentTimeoutSweep.periodicJob(),
            InventoryUpdates.periodicJob(),
        ] + (data?.periodicJobs ?? [])
    }

    /// Creates the configured admin (INTAKE_ADMIN_EMAIL/PASSWORD) unless it exists.
    public func bootstrapAdmin(_ configuration: IntakeConfiguration, logger: Logger) async throws {
        guard let email = configuration.adminEmail, let password = configuration.adminPassword else { return }
        if try await api.users.ensureAdmin(email: email, passwordHash: try await api.passwords.hash(password)) {
            logger.notice("created the configured admin", metadata: ["email": "\(User.normalizedEmail(email))"])
        }
    }

    /// Intake's HTTP server on its own router, as a service.
    public func application(_ configuration: IntakeConfiguration, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some Service
    {
        Application(
            router: api.makeRouter(),
            server: IntakeAPI.httpServer(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "intake"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Start order; a `ServiceGroup` shuts down in reverse.
    public var all: [any Service] {
        [groupCommit, relay, idleCollector, workQueue, rescuer, scheduler, api.sessions.tracking] + (data.map { [$0.metrics] } ?? [])
    }
}
