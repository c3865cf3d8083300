import Foundation
import IntakeRuntime
import IntakeTestSupport
import Synchronization
import Testing

/// A counter whose increments persist to Postgres before they are applied in memory —
/// the shape of every domain actor.
actor PersistedCounter: VirtualActor {
    struct Context: Sendable {
        var db: PostgresClient
        var activations: Signal
        var deactivations: Signal
    }

    enum Message: Sendable {
        /// Writes the increment, then holds (a slow commit) until `gate` fires, if given.
        case increment(heldBy: Signal?)
        case read
    }

    let key: String
    let context: Context
    var value: Int

    init(key: String, context: Context, value: Int) {
        self.key = key
        self.context = context
        self.value = value
    }

    static func activate(key: String, context: Context) async throws -> PersistedCounter {
        context.activations.fire()
        let rows = try await context.db.query("SELECT value FROM counters WHERE key = $1", [.text(key)])
        return PersistedCounter(key: key, context: context, value: try rows.first?.decode("value", as: Int.self) ?? 0)
    }

    func handle(_ message: Message) async throws -> Int {
        switch message {
        case .increment(let gate):
            try await context.db.query(
                "INSERT INTO counters VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2", [.text(key), .int64(Int64(value + 1))])
            if let gate { try await gate.wait(for: 1) }
            value += 1
            return value
        case .read:
            return value
        }
    }

    func deactivate() async {
        context.deactivations.fire()
    }
}

@Suite("Virtual actors")
struct ActorRegistryTests {
    func withCounters<T>(
        _ settings: ActorRegistry<PersistedCounter>.Settings = .init(),
        _ body: (ActorRegistry<PersistedCounter>, PersistedCounter.Context) async throws -> T
    ) async throws -> T {
        try await TestServices.withSchema { db, _ in
            try await db.query("CREATE TABLE counters (key text PRIMARY KEY, value int NOT NULL)")
            let context = PersistedCounter.Context(db: db, activations: Signal(), deactivations: Signal())
            let registry = ActorRegistry<PersistedCounter>(name: "counters", context: context, settings: settings)
            let result = try await body(registry, context)
            await registry.shutdown()
            return result
        }
    }

    /// Whether `key`'s increment has reached the database (its handler is then mid-await).
    static func persisted(_ context: PersistedCounter.Context, _ key: String) async throws -> Bool {
        try await context.db.query("SELECT 1 FROM counters WHERE key = $1", [.text(key)]).count == 1
    }

    @Test func fastMessageWaitsForTheSlowPersistingOneBeforeIt() async throws {
        try await withCounters { registry, context in
            // Started first, the increment awaits its write; the read, sent while it waits,
            // must not run in between (plain Swift actor re-entrancy would let it).
            let commit = Signal()
            let slow = Task { try await registry.send(.increment(heldBy: commit), to: "a") }
            try await waitUntil("the increment has written and is waiting") { try await Self.persisted(context, "a") }
            let read = Task { try await registry.send(.read, to: "a") }
            try await waitUntil("the read is queued behind it") { registry.mailboxDepth(of: "a") == 1 }
            commit.fire()
            #expect(try await read.value == 1)
            let value1 = try await slow.value
            #expect(value1 == 1)
        }
    }

    @Test func messagesAreHandledInArrivalOrder() async throws {
        try await withCounters { registry, _ in
            let replies = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await registry.send(.increment(heldBy: nil), to: "ordered") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.sorted() == Array(1...50), "each increment saw every earlier one")
        }
    }

    @Test func toldMessagesAreHandledInOrderBeforeALaterAsk() async throws {
        try await withCounters { registry, _ in
            for _ in 0..<20 { try registry.tell(.increment(heldBy: nil), to: "told") }
            let value = try await registry.send(.read, to: "told")
            #expect(value == 20, "the ask queued behind every tell")
        }
    }

    @Test func racingFirstMessagesActivateOnce() async throws {
        try await withCounters { registry, context in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 { group.addTask { try await registry.send(.read, to: "hot") } }
                try await group.waitForAll()
            }
            #expect(context.activations.count == 1)
            #expect(registry.activeCount == 1)
        }
    }

    @Test func fullMailboxFailsTheSendAtOnce() async throws {
        try await withCounters(.init(mailboxCapacity: 2)) { registry, context in
            let commit = Signal()
            let first = Task { try await registry.send(.increment(heldBy: commit), to: "busy") }
            try await waitUntil("the first message is being handled") { try await Self.persisted(context, "busy") }
            let queued = [
                Task { try await registry.send(.read, to: "busy") },
                Task { try await registry.send(.read, to: "busy") },
            ]
            try await waitUntil("the mailbox is full") { registry.mailboxDepth(of: "busy") == 2 }
            do {
                _ = try await registry.send(.read, to: "busy")
                Issue.record("a send to a full mailbox must fail at once")
            } catch let error as RuntimeError {
                #expect(error.code == .overloaded)
            }
            commit.fire()
            let value2 = try await first.value
            #expect(value2 == 1)
            for task in queued {
                let reply = try await task.value
                #expect(reply == 1)
            }
        }
    }

    /// A full mailbox refuses new work (`tell`, `send`), but an outcome `deliver`ed to it is
    /// queued anyway and handled in order: the bound slows callers down, it never loses state.
    @Test func deliveredMessagesGetThroughAFullMailboxAndAreHandledInOrder() async throws {
        try await withCounters(.init(mailboxCapacity: 1)) { registry, context in
            let commit = Signal()
            let first = Task { try await registry.send(.increment(heldBy: commit), to: "full") }
            try await waitUntil("the first message is being handled") { try await Self.persisted(context, "full") }
            try registry.tell(.read, to: "full")
            try await waitUntil("the mailbox is full") { registry.mailboxDepth(of: "full") == 1 }
            #expect(throws: RuntimeError.self) { try registry.tell(.read, to: "full") }
            for _ in 0..<3 { registry.deliver(.increment(heldBy: nil), to: "full") }
            #expect(registry.mailboxDepth(of: "full") == 4)
            commit.fire()
            #expect(try await first.value == 1)
            try await waitUntil("every delivered increment is applied") { registry.mailboxDepth(of: "full") == 0 }
            #expect(try await registry.send(.read, to: "full") == 4)
        }
    }

    @Test func activationFailureReachesTheCallerAndTheNextMessageRetries() async throws {
        try await TestServices.withSchema { db, _ in
            let context = PersistedCounter.Context(db: db, activations: Signal(), deactivations: Signal())
            let registry = ActorRegistry<PersistedCounter>(name: "counters", context: context)
            // No table yet: activation fails.
            await #expect(throws: PostgresError.self) { try await registry.send(.read, to: "k") }
            try await db.query("CREATE TABLE counters (key text PRIMARY KEY, value int NOT NULL)")
            try await db.query("INSERT INTO counters VALUES ('k', 41)")
            let value3 = try await registry.send(.read, to: "k")
            #expect(value3 == 41)
            #expect(context.activations.count == 2)
            await registry.shutdown()
        }
    }

    @Test func idleActivationsArePassivatedAndReactivateWithTheirState() async throws {
        try await withCounters(.init(idleTimeout: .seconds(30))) { registry, context in
            let value4 = try await registry.send(.increment(heldBy: nil), to: "sleepy")
            #expect(value4 == 1)
            await registry.collect(now: .now)
            #expect(registry.activeCount == 1, "not idle long enough yet")
            await registry.collect(now: .now + .seconds(31))
            #expect(registry.activeCount == 0)
            #expect(context.deactivations.count == 1)
            let value5 = try await registry.send(.increment(heldBy: nil), to: "sleepy")
            #expect(value5 == 2, "state reloaded")
            #expect(context.activations.count == 2)
        }
    }

    @Test func leastRecentlyUsedArePassivatedPastTheCapButNeverBusyOnes() async throws {
        try await withCounters(.init(maxActivations: 3)) { registry, context in
            for key in ["a", "b", "c", "d", "e"] {
                _ = try await registry.send(.read, to: key)
            }
            // "a" is the least recently used, but busy: it finishes its mailbox first.
            let commit = Signal()
            let busy = Task { try await registry.send(.increment(heldBy: commit), to: "a") }
            try await waitUntil("a is in the middle of its increment") { try await Self.persisted(context, "a") }
            await registry.collect(now: .now)
            #expect(registry.activeCount == 3)
            #expect(registry.isActive("a"), "busy, so kept although least recently used")
            #expect(!registry.isActive("b") && !registry.isActive("c"), "the next least recently used went instead")
            #expect(registry.isActive("d") && registry.isActive("e"))
            commit.fire()
            let value = try await busy.value
            #expect(value == 1)
        }
    }

    @Test func messageArrivingDuringPassivationIsHandledByAFreshActivation() async throws {
        try await withCounters(.init(idleTimeout: .zero)) { registry, context in
            let value6 = try await registry.send(.increment(heldBy: nil), to: "x")
            #expect(value6 == 1)
            async let collecting: Void = registry.collect(now: .now + .seconds(1))
            let reply = try await registry.send(.increment(heldBy: nil), to: "x")
            await collecting
            #expect(reply == 2)
            #expect(context.activations.count >= 1)
        }
    }
}
