import IntakeActors
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
    public let jobPruner: JobPruner
    public let orders: OrderService
    public let idleCollector: IdleCollector

    public init(infrastructure: IntakeInfrastructure, configuration: IntakeConfiguration, logger: Logger) {
        let db = infrastructure.postgres
        groupCommit = GroupCommit(client: db, logger: logger)
        workQueue = WorkQueue(client: db, logger: logger)
        let outboxPruner = OutboxPruner(client: db)
        outboxPruner.register(on: workQueue)
        WebhookDelivery().register(on: workQueue)
        var sinks: [any OutboxSink] = [RedisStreamSink(redis: infrastructure.redis, stream: configuration.eventStream)]
        if !configuration.eventWebhooks.isEmpty {
            sinks.append(WebhookSink(client: db, urls: configuration.eventWebhooks))
        }
        relay = OutboxRelay(client: db, sinks: sinks, logger: logger)
        rescuer = JobRescuer(client: db, logger: logger)
        orders = OrderService(
            db: db, groupCommit: groupCommit,
            settings: .init(paymentTTL: configuration.paymentTTL, eventTypePrefix: configuration.eventTypePrefix), logger: logger)
        PaymentTimeoutSweep(service: orders, logger: logger).register(on: workQueue)
        idleCollector = IdleCollector(registries: orders.registries)
        scheduler = JobScheduler(client: db, jobs: [OutboxPruner.periodicJob(), PaymentTimeoutSweep.periodicJob()], logger: logger)
        jobPruner = JobPruner(client: db, logger: logger)
    }

    /// Start order; a `ServiceGroup` shuts down in reverse.
    public var all: [any Service] {
        [groupCommit, relay, idleCollector, workQueue, rescuer, jobPruner, scheduler]
    }
}
