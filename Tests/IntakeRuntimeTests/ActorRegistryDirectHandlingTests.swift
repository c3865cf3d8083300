import Dispatch
import Synchronization
import Testing

@testable import IntakeRuntime

/// An actor whose handler never suspends, as stock shards are: a message that finds it idle
/// is handled in the sender's task; serial order and the mailbox's guarantees must hold.
actor Tally: VirtualActor {
    @TaskLocal static var sender: String?

    enum Message: Sendable {
        case append(Int)
        /// Appends, raises `started`, then blocks its thread (without suspending) until `gate`
        /// opens.
        case appendHolding(Int, started: Flag, gate: DispatchSemaphore)
        case read
    }

    struct Reply: Sendable {
        var values: [Int]
        /// `Tally.sender` as the handler saw it: the sender's own task-local when the message
        /// ran in the sender's task.
        var sender: String?
    }

    var values: [Int] = []

    static var handlesWithoutSuspending: Bool { true }

    static func activate(key: Int, context: Void) async throws -> Tally { Tally() }

    func handle(_ message: Message) async throws -> Reply {
        switch message {
        case .append(let value): values.append(value)
        case .appendHolding(let value, let started, let gate):
            values.append(value)
            started.raise()
            // Bounded only so that a failed test cannot hold a cooperative thread for ever.
            _ = gate.wait(timeout: .now() + 50)
        case .read: break
        }
        return Reply(values: values, sender: Self.sender)
    }
}

/// A flag one side raises and the other polls, without blocking a thread.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

@Suite(.timeLimit(.minutes(2)))
struct ActorRegistryDirectHandlingTests {
    @Test func anIdleLoadedActorHandlesTheMessageInTheSendersTask() async throws {
        let registry = ActorRegistry<Tally>(name: "tally", context: ())
        _ = try await registry.send(.read, to: 1)  // activates
        let reply = try await Tally.$sender.withValue("me") { try await registry.send(.append(1), to: 1) }
        #expect(reply.sender == "me")
        #expect(reply.values == [1])
    }

    /// A message that arrives while one is handled directly queues, and is handled once that
    /// one ends: the direct handler starts the drain for it.
    @Test func aMessageQueuedDuringDirectHandlingIsDrainedAfterIt() async throws {
        let registry = ActorRegistry<Tally>(name: "tally", context: ())
        _ = try await registry.send(.read, to: 1)
        let started = Flag()
        let gate = DispatchSemaphore(value: 0)
        let first = Task { try await registry.send(.appendHolding(1, started: started, gate: gate), to: 1) }
        // Polled, not waited on with a blocking call: the handler already holds one of the
        // two cooperative threads this machine has.
        let deadline = ContinuousClock.now + .seconds(50)
        while !started.isRaised, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(started.isRaised)
        let answer = Mutex<[Int]?>(nil)
        Task {
            let reply = try await registry.send(.append(2), to: 1)
            answer.withLock { $0 = reply.values }
        }
        while registry.mailboxDepth(of: 1) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(registry.mailboxDepth(of: 1) == 1, "the second message waits in the mailbox")
        gate.signal()
        #expect(try await first.value.values == [1])
        // Polled, not awaited: without the drain the second send never returns.
        while answer.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let answered = answer.withLock { $0 }
        #expect(answered == [1, 2], "the queued message was handled after the direct one")
    }

    /// Messages queued before a send (told or delivered) are handled before it.
    @Test func queuedMessagesComeFirst() async throws {
        let registry = ActorRegistry<Tally>(name: "tally", context: ())
        _ = try await registry.send(.read, to: 1)
        registry.deliver(.append(1), to: 1)
        try registry.tell(.append(2), to: 1)
        await registry.deliverNow(.append(3), to: 1)
        let reply = try await registry.send(.append(4), to: 1)
        #expect(reply.values == [1, 2, 3, 4])
    }

    /// Senders racing direct handling and queued delivery: every message handled once, each
    /// sender's in its order, and none left in a mailbox nobody drains (a send would hang).
    @Test func racingSendersLoseNothingAndKeepTheirOrder() async throws {
        let registry = ActorRegistry<Tally>(name: "tally", context: ())
        let senders = 32
        let perSender = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    for n in 0..<perSender {
                        let value = sender * 10_000 + n
                        switch n % 3 {
                        case 0: _ = try await registry.send(.append(value), to: 7)
                        case 1: registry.deliver(.append(value), to: 7)
                        default: await registry.deliverNow(.append(value), to: 7)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let values = try await registry.send(.read, to: 7).values
        #expect(values.count == senders * perSender)
        for sender in 0..<senders {
            let mine = values.filter { $0 / 10_000 == sender }
            #expect(mine == mine.sorted(), "sender \(sender)'s messages in its order")
            #expect(mine.count == perSender)
        }
        #expect(registry.mailboxDepth(of: 7) == 0)
    }
}
