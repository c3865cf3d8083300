import Foundation
import IntakeRuntime
import IntakeTestSupport
import Synchronization
import Testing

@Suite("Outbox relay against real servers")
struct OutboxRelayTests {
    static let quick = OutboxRelay.Settings(batchSize: 50, pollInterval: .milliseconds(100), standbyRetry: .milliseconds(100))

    /// Commits `count` events for `aggregates` round-robin, one transaction each, and
    /// returns their event ids in commit order.
    func commitEvents(_ db: PostgresClient, count: Int, aggregates: [String] = ["a"]) async throws -> [String] {
        var ids: [String] = []
        for n in 0..<count {
            let aggregate = aggregates[n % aggregates.count]
            let event = CloudEvent(source: "/test", type: "com.example.test.happened", subject: aggregate, data: #"{"n":\#(n)}"#)
            _ = try await db.pipeline([
                OutboxQueries.insert([OutboxEvent(aggregateType: "test", aggregateID: aggregate, event: event)]),
                OutboxQueries.notify,
            ])
            ids.append(event.id.uuidString.lowercased())
        }
        return ids
    }

    /// The event ids in `stream`, in stream order.
    func streamEventIDs(_ redis: RedisClient, _ stream: String) async throws -> [String] {
        let entries = try await redis.command("XRANGE", RedisArgument(stream), "-", "+").array ?? []
        return try entries.map { entry in
            let fields = entry.array?[1].array ?? []
            let json = try #require(fields.count == 2 ? fields[1].bytes : nil)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
            return try #require(object["id"] as? String)
        }
    }

    func unpublished(_ db: PostgresClient) async throws -> Int {
        try await db.query("SELECT count(*) AS n FROM outbox o, outbox_position p WHERE (o.txid, o.id) > (p.txid, p.event_id)")[0]
            .decode("n", as: Int.self)
    }

    /// The relay keeps one position instead of marking rows: an event whose transaction
    /// began first (smaller id, smaller txid) but commits after a later one's must still go
    /// out — a position taken by id alone would have passed it while it was uncommitted.
    @Test func anEventCommittedAfterALaterOneIsNotSkipped() async throws {
        try await TestServices.withRuntimeSchema(poolSize: 4) { db, _ in
            try await TestServices.withRedis { redis, prefix in
                let stream = prefix + "events"
                let relay = OutboxRelay(client: db, sinks: [RedisStreamSink(redis: redis, stream: stream)], settings: Self.quick)
                let early = CloudEvent(source: "/test", type: "com.example.test.early", subject: "a", data: "{}")
                let ids = try await withRunningServices([relay]) {
                    try await db.withConnection { slow in
                        try await slow.execute(script: "BEGIN")
                        try await slow.query("SELECT pg_current_xact_id()")
                        _ = try await slow.pipeline([OutboxQueries.insert([OutboxEvent(aggregateType: "test", aggregateID: "a", event: early)])])
                        // A later transaction commits first; the relay runs over it meanwhile.
                        let later = try await commitEvents(db, count: 3, aggregates: ["b"])
                        try await Task.sleep(for: .milliseconds(500))
                        #expect(try await streamEventIDs(redis, stream).isEmpty, "nothing passes a transaction still running before it")
                        try await slow.execute(script: "COMMIT")
                        try await db.query("SELECT pg_notify('\(OutboxQueries.channel)', '')")
                        try await waitUntil("every event is published") { try await streamEventIDs(redis, stream).count == 4 }
                        return [early.id.uuidString.lowercased()] + later
                    }
                }
                #expect(try await streamEventIDs(redis, stream) == ids, "in transaction order, none skipped")
                #expect(try await unpublished(db) == 0)
            }
        }
    }

    @Test func eventsArriveInCommitOrder() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            try await TestServices.withRedis { redis, prefix in
                let stream = prefix + "events"
                let relay = OutboxRelay(client: db, sinks: [RedisStreamSink(redis: redis, stream: stream)], settings: Self.quick)
                let ids = try await withRunningServices([relay]) {
                    let ids = try await commitEvents(db, count: 120, aggregates: ["a", "b", "c"])
                    try await waitUntil("every event is published") { try await unpublished(db) == 0 }
                    return ids
                }
                #expect(try await streamEventIDs(redis, stream) == ids)
            }
        }
    }

    /// Counts the relay's publication cycles.
    final class CountingSink: OutboxSink {
        let cycles = Mutex(0)
        let events = Mutex(0)
        func publish(_ records: [OutboxRecord]) async throws {
            cycles.withLock { $0 += 1 }
            events.withLock { $0 += records.count }
        }
    }

    /// Events committed one transaction at a time, each with its notification, go out in a
    /// few cycles spaced by `minimumCycleInterval`, not one cycle per commit.
    @Test func publicationCyclesAreSpacedWhileEventsKeepComing() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let sink = CountingSink()
            var settings = Self.quick
            settings.minimumCycleInterval = .milliseconds(250)
            let relay = OutboxRelay(client: db, sinks: [sink], settings: settings)
            try await withRunningServices([relay]) {
                // Forty commits as fast as they go, each with its notification.
                let clock = ContinuousClock()
                let start = clock.now
                _ = try await commitEvents(db, count: 40)
                let elapsed = clock.now - start
                try await waitUntil("every event is published") { sink.events.withLock { $0 } == 40 }
                let cycles = sink.cycles.withLock { $0 }
                // One cycle per interval the commits took, plus the first and the one after.
                let bound = Int(elapsed / settings.minimumCycleInterval) + 2
                #expect(bound < 40, "the commits took \(elapsed): too slow to tell spaced cycles from one per commit")
                #expect(cycles <= bound, "\(cycles) cycles for 40 commits over \(elapsed)")
            }
        }
    }

    /// While this process's relay leads, group commit wakes it in memory: the event goes out at
    /// once (the relay's poll is a minute away) and no NOTIFY reaches Postgres's listeners.
    /// Without a relay leading here, the batch sends the NOTIFY as before.
    @Test func aLocalLeaderIsWokenInMemoryWithoutANotification() async throws {
        try await TestServices.withRuntimeSchema(poolSize: 4) { db, configuration in
            // The writers commit on a connection of their own, so that what its backend sends
            // can be told from the notifications of tests running in other schemas.
            var one = configuration
            one.poolSize = 1
            let writerClient = PostgresClient(configuration: one)
            defer { writerClient.shutdown() }
            let writerBackend = try await writerClient.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
            let sink = CountingSink()
            var settings = Self.quick
            settings.pollInterval = .seconds(60)
            let relay = OutboxRelay(client: db, sinks: [sink], settings: settings)
            let writer = GroupCommit(client: writerClient)
            relay.receivesNotificationsLocally(from: writer)
            let heard = Mutex<[String]>([])
            let fromWriter = Mutex(0)
            let listening = Task {
                for await event in db.listener(channels: [OutboxQueries.channel]) {
                    guard case .notification(let notification) = event else { continue }
                    heard.withLock { $0.append(notification.payload) }
                    if notification.senderPID == writerBackend { fromWriter.withLock { $0 += 1 } }
                }
            }
            defer { listening.cancel() }
            func notify(_ payload: String) async throws { try await db.query("SELECT pg_notify($1, $2)", [.text(OutboxQueries.channel), .text(payload)]) }
            func event() -> WriteSet {
                var writeSet = WriteSet()
                let event = CloudEvent(source: "/test", type: "com.example.test.happened", subject: "a", data: "{}")
                OutboxQueries.append(OutboxEvent(aggregateType: "test", aggregateID: "a", event: event), to: &writeSet)
                return writeSet
            }
            let ready = "ready-\(UUID())", marker = "marker-\(UUID())"
            try await withRunningServices([writer, relay]) {
                try await waitUntil("the relay leads") { relay.isLeader }
                try await waitUntil("the listener hears") {
                    try await notify(ready)
                    return heard.withLock { $0.contains(ready) }
                }
                try await writer.submit(event())
                try await waitUntil("the event is published without waiting for the poll") { sink.events.withLock { $0 } == 1 }
                try await notify(marker)
                try await waitUntil("the marker is heard") { heard.withLock { $0.contains(marker) } }
                #expect(fromWriter.withLock { $0 } == 0, "the writer's batch sent no NOTIFY")
            }
            // No relay runs here now: the batch notifies through Postgres.
            let second = GroupCommit(client: writerClient)
            relay.receivesNotificationsLocally(from: second)
            try await withRunningServices([second]) { try await second.submit(event()) }
            try await waitUntil("the NOTIFY is heard") { fromWriter.withLock { $0 } == 1 }
        }
    }

    /// A landing check after a broken commit (`OutboxQueries.landingCheck`, taken before the
    /// write): it finds an event written after it was taken, not one never written, and not
    /// one written before it — that one lies below the range it reads.
    @Test func aLandingCheckFindsTheEventWrittenAfterIt() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            func write(_ event: CloudEvent) async throws {
                _ = try await db.pipeline([OutboxQueries.insert([OutboxEvent(aggregateType: "test", aggregateID: "a", event: event)])])
            }
            func event() -> CloudEvent { CloudEvent(source: "/test", type: "com.example.test.happened", subject: "a", data: "{}") }
            let early = event()
            let earlyCheck = try await OutboxQueries.landingCheck(for: early.id, on: db)
            try await write(early)
            #expect(try await earlyCheck(), "a fresh sequence: the first row is found")
            let late = event()
            let lateCheck = try await OutboxQueries.landingCheck(for: late.id, on: db)
            #expect(try await !lateCheck(), "not written yet")
            try await write(late)
            #expect(try await lateCheck())
            #expect(try await !OutboxQueries.landingCheck(for: early.id, on: db)(), "written before the check was taken")
        }
    }

    /// Publishes the first half of its first batch, then fails, as a relay that dies between
    /// publishing and marking.
    final class DyingSink: OutboxSink {
        let inner: RedisStreamSink
        let died = Mutex(false)
        /// How many records it published before it died.
        let publishedBeforeDying = Mutex(0)

        init(inner: RedisStreamSink) { self.inner = inner }

        func publish(_ records: [OutboxRecord]) async throws {
            let firstCall = died.withLock { died in
                defer { died = true }
                return !died
            }
            if firstCall {
                let half = Array(records.prefix(records.count / 2))
                try await inner.publish(half)
                publishedBeforeDying.withLock { $0 = half.count }
                throw SinkCrashed()
            }
            try await inner.publish(records)
        }
    }

    struct SinkCrashed: Error {}

    /// Moves the relay's position to the newest event while publishing its first batch, as a
    /// second relay that published everything meanwhile would.
    final class OvertakenSink: OutboxSink {
        let inner: RedisStreamSink
        let db: PostgresClient
        let overtaken = Mutex(false)
        /// The event ids of the batch it was overtaken in.
        let firstBatch = Mutex<[String]>([])

        init(inner: RedisStreamSink, db: PostgresClient) {
            self.inner = inner
            self.db = db
        }

        func publish(_ records: [OutboxRecord]) async throws {
            let first = overtaken.withLock { done in
                defer { done = true }
                return !done
            }
            if first {
                firstBatch.withLock { $0 = records.map(\.eventID) }
                try await db.query("UPDATE outbox_position SET (txid, event_id) = (SELECT txid, id FROM outbox ORDER BY txid DESC, id DESC LIMIT 1)")
            }
            try await inner.publish(records)
        }
    }

    /// The position write states the position the batch was read after: a relay overtaken
    /// meanwhile does not move it back (which would publish the overtaking relay's events a
    /// second time) but starts over from where it now is.
    @Test func anOvertakenRelayDoesNotMoveThePositionBack() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            try await TestServices.withRedis { redis, prefix in
                let stream = prefix + "events"
                let ids = try await commitEvents(db, count: 10)
                let settings = OutboxRelay.Settings(batchSize: 5, pollInterval: .milliseconds(100), standbyRetry: .milliseconds(100))
                let sink = OvertakenSink(inner: RedisStreamSink(redis: redis, stream: stream), db: db)
                let relay = OutboxRelay(client: db, sinks: [sink], settings: settings)
                let last = try await withRunningServices([relay]) {
                    try await waitUntil("the relay led again after being overtaken") { relay.leadershipAttempts >= 2 }
                    let last = try await commitEvents(db, count: 1)
                    try await waitUntil("the next event is published") { try await streamEventIDs(redis, stream).contains(last[0]) }
                    return last
                }
                // The first batch holds up to 5 events: fewer when a transaction of another
                // test, older than some of them, was running (publication waits for it).
                let overtaken = sink.firstBatch.withLock { $0 }
                #expect((1...5).contains(overtaken.count) && overtaken == Array(ids.prefix(overtaken.count)))
                #expect(try await streamEventIDs(redis, stream) == overtaken + last, "the overtaken batch's successors are not sent again")
            }
        }
    }

    @Test func relayDyingMidBatchLosesNothing() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            try await TestServices.withRedis { redis, prefix in
                let stream = prefix + "events"
                let ids = try await commitEvents(db, count: 40)
                let sink = DyingSink(inner: RedisStreamSink(redis: redis, stream: stream))
                let dying = OutboxRelay(client: db, sinks: [sink], settings: Self.quick)
                try await withRunningServices([dying]) {
                    try await waitUntil("the relay died once and then published everything") { try await unpublished(db) == 0 }
                }
                let published = try await streamEventIDs(redis, stream)
                #expect(Set(published) == Set(ids), "no gaps")
                // The first batch's size depends on what else the cluster is running (the relay
                // takes only transactions older than every running one): count what it sent.
                let beforeDying = sink.publishedBeforeDying.withLock { $0 }
                #expect(published.count == 40 + beforeDying, "the half published before dying came again (at least once)")
                // In order, once the duplicates are dropped.
                var seen = Set<String>()
                #expect(published.filter { seen.insert($0).inserted } == ids)
            }
        }
    }

    @Test func twoRelaysOnePublishesAndTheOtherTakesOverWhenItStops() async throws {
        try await TestServices.withRuntimeSchema { db, configuration in
            try await TestServices.withRedis { redis, prefix in
                let stream = prefix + "events"
                let clients = [PostgresClient(configuration: configuration), PostgresClient(configuration: configuration)]
                defer { clients.forEach { $0.shutdown() } }
                let first = OutboxRelay(client: clients[0], sinks: [RedisStreamSink(redis: redis, stream: stream)], settings: Self.quick)
                let second = OutboxRelay(client: clients[1], sinks: [RedisStreamSink(redis: redis, stream: stream)], settings: Self.quick)
                var ids: [String] = []
                try await withRunningServices([second]) {
                    try await withRunningServices([first]) {
                        try await waitUntil("one relay leads") { first.isLeader || second.isLeader }
                        // Wait until the standby has tried, and failed, to take the lock
                        // a few times since the leader took it.
                        let standby = first.isLeader ? second : first
                        let triedBefore = standby.leadershipAttempts
                        try await waitUntil("the standby tried again") { standby.leadershipAttempts >= triedBefore + 2 }
                        #expect(first.isLeader != second.isLeader, "exactly one leader")
                        ids += try await commitEvents(db, count: 30)
                        // The counters move just after the rows are marked.
                        try await waitUntil("published and counted") {
                            try await unpublished(db) == 0 && first.publishedEvents + second.publishedEvents == 30
                        }
                        let leader = first.isLeader ? first : second
                        #expect(leader.publishedEvents == 30, "the leader published every event")
                        #expect(standby.publishedEvents == 0, "the standby published none")
                    }
                    // `first` has stopped. Whichever was the standby leads now (or still does).
                    try await waitUntil("the survivor leads") { second.isLeader }
                    ids += try await commitEvents(db, count: 30)
                    try await waitUntil("published by the survivor") { try await unpublished(db) == 0 }
                }
                #expect(try await streamEventIDs(redis, stream) == ids, "each event once, in order")
            }
        }
    }

    @Test func publishedRowsArePrunedAfterRetention() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            _ = try await commitEvents(db, count: 10)
            // Published up to the 6th; the 7th is as old but not published.
            try await db.query("UPDATE outbox SET created_at = now() - interval '2 days' WHERE id <= 7")
            try await db.query("UPDATE outbox_position SET (txid, event_id) = (SELECT txid, id FROM outbox WHERE id = 6)")
            let pruned = try await OutboxPruner.job(client: db, retention: .seconds(86_400)).pruneOnce()
            #expect(pruned == 6)
            let left = try await db.query("SELECT count(*) AS n FROM outbox")[0].decode("n", as: Int.self)
            #expect(left == 4, "recent and unpublished rows stay")
        }
    }
}

@Suite("Webhook delivery against a real server")
struct WebhookDeliveryTests {
    /// API.md: subscribers get every event, "retried with backoff". A 2xx delivers; every
    /// other answer is retried until the job's attempts run out — a 404 too (before session
    /// 13 it discarded the event at once); a redirect is an answer, not followed (a 302 made
    /// the POST a GET without the event, whose 200 completed the job: hostile review, session
    /// 13); a subscriber that stalls mid-body is cut off at the time limit and tried again.
    @Test func eventsReachSubscribersAndEveryOtherAnswerIsRetried() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            // The subscriber fails (503, 500, 302) before it accepts — with a 200 whose body stalls.
            let receiver = try await WebhookReceiver.start(answering: [503, 500, 302, WebhookReceiver.stall])
            let refusing = try await WebhookReceiver.start(answering: Array(repeating: 404, count: 100))
            let queue = WorkQueue(
                client: db,
                configuration: WorkQueueConfiguration(pollInterval: .milliseconds(100), retrySchedule: RetrySchedule(base: .milliseconds(50), cap: .milliseconds(100))))
            WebhookDelivery(timeout: .seconds(10)).register(on: queue)
            let relay = OutboxRelay(
                client: db, sinks: [WebhookSink(client: db, urls: [receiver.url, refusing.url])],
                settings: .init(batchSize: 10, pollInterval: .milliseconds(100)))
            let event = CloudEvent(source: "/test", type: "com.example.test.happened", subject: "a", data: #"{"ok":true}"#)
            try await withRunningServices([queue, relay]) {
                _ = try await db.pipeline([
                    OutboxQueries.insert([OutboxEvent(aggregateType: "test", aggregateID: "a", event: event)]), OutboxQueries.notify,
                ])
                // The stalled answer is a 200: delivered, and its body cut off at the limit.
                try await waitUntil("the subscriber accepted the event", timeout: .seconds(60)) {
                    try await db.query("SELECT count(*) AS n FROM jobs WHERE state = 'completed'")[0].decode("n", as: Int.self) == 1
                }
                try await waitUntil("the refused delivery is retried until its attempts run out", timeout: .seconds(60)) {
                    try await db.query("SELECT count(*) AS n FROM jobs WHERE state = 'discarded'")[0].decode("n", as: Int.self) == 1
                }
            }
            let deliveries = receiver.received
            #expect(deliveries.allSatisfy { $0.method == "POST" }, "no redirect followed: \(deliveries.map(\.method))")
            #expect(deliveries.allSatisfy { $0.contentType == "application/cloudevents+json" })
            #expect(deliveries.allSatisfy { $0.body == event.structuredJSON() })
            #expect(deliveries.count == 4)
            #expect(refusing.received.count == 20, "a 404 is retried like any other answer, up to the job's 20 attempts")
            let discarded = try await db.query("SELECT last_error FROM jobs WHERE state = 'discarded'")[0].decode("last_error", as: String.self)
            #expect(discarded.contains("404"))
            await receiver.stop()
            await refusing.stop()
        }
    }
}
