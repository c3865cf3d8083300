import Logging
import Tracing
import Metrics
import ServiceLifecycle
import Synchronization

/// Publishes outbox rows to its sinks: reads unpublished rows in id order in batches,
/// publishes them, then marks them published. Delivery is at least once (a crash between
/// publishing and marking republishes the batch), in commit order per aggregate.
///
/// Only one relay publishes at a time: it holds a Postgres advisory lock on the connection
/// it works on. Others wait as standbys and take over within `standbyRetry` once that
/// connection goes away (the leader died or lost the database).
public final class OutboxRelay: Service, Sendable {
    public struct Settings: Sendable {
        public var batchSize: Int
        /// Look for rows even without a notification this often.
        public var pollInterval: Duration
        /// How often a standby tries to become the leader.
        public var standbyRetry: Duration
        /// Publication cycles start at most this often while events keep coming: under load a
        /// cycle then takes several commits' events — one read, one sink round trip, one
        /// position write and one cache invalidation per product for all of them — instead of
        /// one commit's each; an event after a quiet spell goes out at once. Adds at most this
        /// much to the relay's lag (issue 12's bound: p99 < 100 ms).
        public var minimumCycleInterval: Duration

        public init(
            batchSize: Int = 1000, pollInterval: Duration = .seconds(1), standbyRetry: Duration = .seconds(1),
            minimumCycleInterval: Duration = .milliseconds(5)
        ) {
            self.batchSize = max(1, batchSize)
            self.pollInterval = pollInterval
            self.standbyRetry = standbyRetry
            self.minimumCycleInterval = minimumCycleInterval
        }
    }

    private let client: PostgresClient
    private let sinks: [any OutboxSink]
    private let settings: Settings
    private let logger: Logger
    private let leader = Mutex(false)
    /// The wake-up of the running relay's cycle (nil while it does not run).
    private let wakeUp = Mutex<AsyncStream<Void>.Continuation?>(nil)
    private let publishedCount = Mutex(0)
    private let attempts = Mutex(0)
    private let lagGauge = Gauge(label: "intake_outbox_lag_seconds")
    private let published = Counter(label: "intake_outbox_published_total")
    private let batchSizes = Recorder(label: "intake_outbox_batch_size")

    public init(client: PostgresClient, sinks: [any OutboxSink], settings: Settings = Settings(), logger: Logger = Logger(label: "intake.outbox")) {
        self.client = client
        self.sinks = sinks
        self.settings = settings
        self.logger = logger
    }

    /// Whether this relay holds the lock now.
    public var isLeader: Bool { leader.withLock { $0 } }
    /// How many times this relay has tried to take the lock (observability, and tests that
    /// wait for a standby to have tried).
    public var leadershipAttempts: Int { attempts.withLock { $0 } }

    /// Events this relay has published (and marked) so far.
    public var publishedEvents: Int { publishedCount.withLock { $0 } }

    /// The outbox's NOTIFY as `writer` may deliver it in memory: while this relay leads, a
    /// batch that wrote events wakes it directly once committed, and no notification goes
    /// through Postgres (whose every listening backend it would wake). While another process's
    /// relay leads, the NOTIFY is sent as before.
    public func receivesNotificationsLocally(from writer: GroupCommit) {
        writer.deliverLocally(
            GroupCommit.LocalNotification(
                template: OutboxQueries.notifyBatched,
                isReceivedHere: { [self] in isLeader && wakeUp.withLock { $0 != nil } },
                deliver: { [self] in wakeUp.withLock { _ = $0?.yield() } }))
    }

    public func run() async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakeUp.withLock { $0 = wake }
        defer { wakeUp.withLock { $0 = nil } }
        let listener = Task {
            for await _ in client.listener(channels: [OutboxQueries.channel]) { wake.yield() }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.pollInterval)
                wake.yield()
            }
        }
        // The lag is sampled whether or not this relay leads or can publish: when the sinks
        // are down (Redis stopped) is exactly when it must grow.
        let lagSampler = Task {
            while !Task.isCancelled {
                await sampleLag()
                try? await Task.sleep(for: .seconds(1))
            }
        }
        defer {
            listener.cancel()
            ticker.cancel()
            lagSampler.cancel()
        }
        try? await cancelWhenGracefulShutdown {
            var wakeIterator = wakeups.makeAsyncIterator()
            while !Task.isCancelled {
                do {
                    try await self.leadWhilePossible(&wakeIterator)
                } catch where Task.isCancelled {
                    return
                } catch let error as RuntimeError where error.code == .conflict {
                    self.logger.warning("outbox relay stops leading; starting over", metadata: ["error": "\(error)"])
                } catch {
                    self.logger.warning("outbox relay lost its connection; retrying", metadata: ["error": "\(error)"])
                }
                self.leader.withLock { $0 = false }
                try await Task.sleep(for: self.settings.standbyRetry)
            }
        }
        leader.withLock { $0 = false }
    }

    /// Holds one connection: tries the lock, and while it holds it publishes whenever woken.
    private func leadWhilePossible(_ wakeups: inout AsyncStream<Void>.Iterator) async throws {
        try await client.withConnection { session in
            let led: Void? = try await session.withAdvisoryLock(OutboxQueries.lockKey) {
                attempts.withLock { $0 += 1 }
                leader.withLock { $0 = true }
                logger.info("outbox relay is the leader")
                defer { leader.withLock { $0 = false } }
                var lastCycle: ContinuousClock.Instant?
                while !Task.isCancelled {
                    if let lastCycle, lastCycle + settings.minimumCycleInterval > .now {
                        try await Task.sleep(until: lastCycle + settings.minimumCycleInterval)
                    }
                    lastCycle = .now
                    while try await publishBatch(session) == settings.batchSize {}
                    guard await wakeups.next() != nil else { break }
                }
            }
            if led == nil { attempts.withLock { $0 += 1 } }
        }
    }

    /// Records the age of the next event to publish (`intake_outbox_lag_seconds`). Without
    /// Postgres there is no figure to record: the gauge keeps its last one, and `/readyz`
    /// reports the outage.
    private func sampleLag() async {
        do {
            let lag = try await client.query(OutboxQueries.lag)[0].decode("lag_ms", as: Int64.self)
            lagGauge.record(Double(lag) / 1000)
        } catch {
            logger.debug("outbox lag not sampled", metadata: ["error": "\(error)"])
        }
    }

    /// Publishes one batch; returns how many rows it had.
    private func publishBatch(_ session: PostgresSession) async throws -> Int {
        let rows = try await session.query(OutboxQueries.unpublished, [.int32(Int32(settings.batchSize))])
        if rows.isEmpty { return 0 }
        let records = try rows.map { row in
            OutboxRecord(
                id: try row.decode("id"), eventID: try row.decode("event_id"), aggregateType: try row.decode("aggregate_type"),
                aggregateID: try row.decode("aggregate_id"), eventType: try row.decode("event_type"), event: try row.decode("event"))
        }
        let lastTxid: String = try rows[rows.count - 1].decode("txid")
        let fromTxid: String = try rows[0].decode("from_txid")
        let fromEventID: Int64 = try rows[0].decode("from_event_id")
        // One span per published batch, linked to the span that produced each event.
        try await TraceContext.traced("outbox.publish", context: .topLevel, ofKind: .producer) { span in
            if let span {
                span.attributes["intake.events"] = records.count
                var linked = Set<String>()
                for traceparent in records.compactMap(\.traceparent) where linked.insert(traceparent).inserted {
                    span.addLink(SpanLink(context: TraceContext.context(traceparent: traceparent), attributes: [:]))
                }
            }
            for sink in sinks {
                try await sink.publish(records)
            }
        }
        let advanced = try await session.query(
            OutboxQueries.advance, [.text(lastTxid), .int64(records[records.count - 1].id), .text(fromTxid), .int64(fromEventID)])
        guard advanced.affectedRows == 1 else {
            // Another relay published past it meanwhile: this one stops leading and starts over.
            throw RuntimeError(code: .conflict, message: "the outbox position moved while this relay published a batch")
        }
        published.increment(by: records.count)
        batchSizes.record(records.count)
        publishedCount.withLock { $0 += records.count }
        return records.count
    }
}
