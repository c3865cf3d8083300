import DequeModule
import Instrumentation
import Synchronization

/// One activation: its mailbox, lifecycle and instance. The mailbox is drained by at most one
/// task at a time (`draining`), which is what makes message handling serial.
final class Activation<A: VirtualActor>: Sendable {
    typealias Delivery = CheckedContinuation<Result<A.Reply, any Error>?, Never>

    struct Envelope: Sendable {
        var message: A.Message
        /// Where the reply goes; nil for `tell`, whose reply (or error) is dropped.
        var delivery: Delivery?
        /// Builds the instance if this message finds the activation empty, instead of
        /// `A.activate` (a key known to be new needs no load).
        var activator: (@Sendable () async throws -> A)?
        var enqueuedAt: ContinuousClock.Instant
        /// The sender's trace context, restored while the message is handled: a mailbox is
        /// a queue, which task-locals do not cross by themselves.
        var context: ServiceContext? = ServiceContext.current
    }

    struct State: ~Copyable {
        var lifecycle = ActivationLifecycle.creating
        var mailbox = Deque<Envelope>()
        var draining = false
        var instance: A?
        var lastUsed: ContinuousClock.Instant
        /// While positive, the activation is never passivated (see `ActorRegistry.pin`).
        var pins = 0
    }

    enum EnqueueOutcome: Equatable {
        /// Queued; the caller must start a drain task when `startDrain`.
        case accepted(startDrain: Bool, depth: Int)
        case full
        /// Passivated meanwhile: look the key up again.
        case retired
    }

    let key: A.Key
    let capacity: Int
    let state: Mutex<State>

    init(key: A.Key, capacity: Int) {
        self.key = key
        self.capacity = capacity
        self.state = Mutex(State(lastUsed: .now))
    }

    /// `overCapacity`: queued even when the mailbox is full (outcomes of work already
    /// admitted, which the bound must not drop; see `ActorRegistry.deliver`).
    func enqueue(_ envelope: Envelope, overCapacity: Bool = false) -> EnqueueOutcome {
        state.withLock { state in
            if state.lifecycle == .deactivating || state.lifecycle == .invalid { return .retired }
            if !overCapacity, state.mailbox.count >= capacity { return .full }
            state.mailbox.append(envelope)
            let start = !state.draining
            state.draining = true
            return .accepted(startDrain: start, depth: state.mailbox.count)
        }
    }

    /// The next message to handle, or nil — and then draining stops — when the mailbox is empty.
    func next() -> Envelope? {
        state.withLock { state in
            if let envelope = state.mailbox.popFirst() { return envelope }
            state.draining = false
            state.lastUsed = .now
            return nil
        }
    }

    /// Retires the activation if it is idle (nothing queued, nothing running) and, with
    /// `idleSince`, unused since then. Returns the instance to deactivate (nil if it never
    /// activated) wrapped in `.some`, or nil when it is not idle.
    func retireIfIdle(unusedSince cutoff: ContinuousClock.Instant?) -> A?? {
        state.withLock { state in
            guard !state.draining, state.mailbox.isEmpty, state.pins == 0,
                state.lifecycle == .valid || state.lifecycle == .creating
            else {
                return nil
            }
            if let cutoff, state.lastUsed > cutoff { return nil }
            state.lifecycle = .deactivating
            return .some(state.instance)
        }
    }

    var lastUsed: ContinuousClock.Instant { state.withLock { $0.lastUsed } }
    var depth: Int { state.withLock { $0.mailbox.count } }
}
