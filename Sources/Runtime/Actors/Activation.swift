import DequeModule
import Instrumentation
import Synchronization

/// One activation: its mailbox, lifecycle and instance. The mailbox is drained by at most one
/// task at a time (`draining`), which is what makes message handling serial.
///
/// `@usableFromInline`/`@inlinable` throughout: the registry's hot path is generic over the
/// actor type, and only code the client module can see is specialized for it (unspecialized,
/// every message paid for runtime metadata lookups and value-witness copies of `Envelope`).
@usableFromInline
final class Activation<A: VirtualActor>: Sendable {
    @usableFromInline
    typealias Delivery = CheckedContinuation<Result<A.Reply, any Error>?, Never>

    /// A class, not a struct: it is moved through the mailbox, a `Deque`, a lock and an
    /// optional on every message, and each of those moves is then one reference count instead
    /// of a field-by-field copy of the message, the continuation, the activator and the context.
    @usableFromInline
    final class Envelope: Sendable {
        @usableFromInline let message: A.Message
        /// Where the reply goes; nil for `tell`, whose reply (or error) is dropped.
        @usableFromInline let delivery: Delivery?
        /// Builds the instance if this message finds the activation empty, instead of
        /// `A.activate` (a key known to be new needs no load).
        @usableFromInline let activator: (@Sendable () async throws -> A)?
        @usableFromInline let enqueuedAt: ContinuousClock.Instant
        /// The sender's trace context, restored while the message is handled: a mailbox is
        /// a queue, which task-locals do not cross by themselves.
        @usableFromInline let context: ServiceContext?

        @inlinable
        init(message: A.Message, delivery: Delivery?, activator: (@Sendable () async throws -> A)? = nil, enqueuedAt: ContinuousClock.Instant) {
            self.message = message
            self.delivery = delivery
            self.activator = activator
            self.enqueuedAt = enqueuedAt
            context = ServiceContext.current
        }
    }

    @usableFromInline
    struct State: ~Copyable {
        @usableFromInline var lifecycle = ActivationLifecycle.creating
        @usableFromInline var mailbox = Deque<Envelope>()
        @usableFromInline var draining = false
        @usableFromInline var instance: A?
        @usableFromInline var lastUsed: ContinuousClock.Instant
        /// While positive, the activation is never passivated (see `ActorRegistry.pin`).
        @usableFromInline var pins = 0

        @inlinable
        init(lastUsed: ContinuousClock.Instant) { self.lastUsed = lastUsed }
    }

    @usableFromInline
    enum EnqueueOutcome: Equatable {
        /// Queued; the caller must start a drain task when `startDrain`.
        case accepted(startDrain: Bool, depth: Int)
        case full
        /// Passivated meanwhile: look the key up again.
        case retired
    }

    @usableFromInline let key: A.Key
    @usableFromInline let capacity: Int
    @usableFromInline let state: Mutex<State>

    @inlinable
    init(key: A.Key, capacity: Int) {
        self.key = key
        self.capacity = capacity
        self.state = Mutex(State(lastUsed: .now))
    }

    /// `overCapacity`: queued even when the mailbox is full (outcomes of work already
    /// admitted, which the bound must not drop; see `ActorRegistry.deliver`).
    @inlinable
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
    @inlinable
    func next() -> Envelope? {
        state.withLock { state in
            if let envelope = state.mailbox.popFirst() { return envelope }
            state.draining = false
            state.lastUsed = .now
            return nil
        }
    }

    /// Claims the activation for one message handled in the sender's own task
    /// (`VirtualActor.handlesWithoutSuspending`): only when its instance is loaded and nothing
    /// is queued or being handled. Holds `draining` until `endDirect`, so messages arriving
    /// meanwhile queue behind it, as they would behind a drain.
    @inlinable
    func beginDirect() -> A? {
        state.withLock { state in
            guard state.lifecycle == .valid, !state.draining, state.mailbox.isEmpty, let instance = state.instance else { return nil }
            state.draining = true
            return instance
        }
    }

    /// Ends a direct handling. True when messages queued meanwhile: `draining` stays set and
    /// the caller must start a drain for them.
    @inlinable
    func endDirect() -> Bool {
        state.withLock { state in
            state.lastUsed = .now
            if !state.mailbox.isEmpty { return true }
            state.draining = false
            return false
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
