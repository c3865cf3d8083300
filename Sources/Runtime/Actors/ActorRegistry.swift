import Instrumentation
import Logging
import Metrics
import Synchronization

/// Addresses virtual actors by key: activates one on its first message, keeps exactly one
/// activation per key in this process, delivers each activation's messages one at a time in
/// arrival order through a bounded mailbox, and passivates idle activations (see
/// `IdleCollector`).
public final class ActorRegistry<A: VirtualActor>: Sendable {
    /// Limits and timings of a registry.
    public struct Settings: Sendable {
        /// Messages an activation may hold before sends fail with `overloaded`.
        public var mailboxCapacity: Int
        /// Activations unused this long are passivated.
        public var idleTimeout: Duration
        /// Past this many activations, the least recently used idle ones are passivated.
        public var maxActivations: Int

        public init(mailboxCapacity: Int = 1024, idleTimeout: Duration = .seconds(300), maxActivations: Int = 100_000) {
            self.mailboxCapacity = max(1, mailboxCapacity)
            self.idleTimeout = idleTimeout
            self.maxActivations = max(1, maxActivations)
        }
    }

    @usableFromInline
    struct State: ~Copyable {
        @usableFromInline var activations: [A.Key: Activation<A>] = [:]
        /// Keys whose previous activation is still deactivating: the next activation of the
        /// key waits for it, so two instances never overlap.
        @usableFromInline var deactivations: [A.Key: Task<Void, Never>] = [:]
        @usableFromInline var shutDown = false

        @inlinable
        init() {}
    }

    public let name: String
    public let settings: Settings
    /// What activations are given.
    public let context: A.Context
    @usableFromInline let logger: Logger
    @usableFromInline let state = Mutex(State())
    @usableFromInline let activeGauge: Gauge
    @usableFromInline let activationsCounter: Counter
    @usableFromInline let passivationsCounter: Counter
    @usableFromInline let mailboxDepth: Recorder
    @usableFromInline let latency: Metrics.Timer

    public init(name: String, context: A.Context, settings: Settings = Settings(), logger: Logger = Logger(label: "intake.actors")) {
        self.name = name
        self.context = context
        self.settings = settings
        self.logger = logger
        let dimensions = [("registry", name)]
        activeGauge = Gauge(label: "intake_actors_active", dimensions: dimensions)
        activationsCounter = Counter(label: "intake_actor_activations_total", dimensions: dimensions)
        passivationsCounter = Counter(label: "intake_actor_passivations_total", dimensions: dimensions)
        mailboxDepth = Recorder(label: "intake_actor_mailbox_depth", dimensions: dimensions)
        latency = Metrics.Timer(label: "intake_actor_message_seconds", dimensions: dimensions)
    }

    /// Delivers `message` to the activation of `key` (activating it if needed) and returns
    /// its reply. Fails at once with `overloaded` when that mailbox is full.
    @inlinable
    public func send(_ message: A.Message, to key: A.Key) async throws -> A.Reply {
        try await send(message, to: key, activator: nil)
    }

    /// Like `send`, but if `key` has no instance yet it is made by `activator` instead of
    /// `A.activate` — for keys the caller knows are new (a freshly generated order id), whose
    /// activation would only load nothing.
    @inlinable
    public func send(_ message: A.Message, to key: A.Key, creatingWith activator: @escaping @Sendable () async throws -> A) async throws -> A.Reply {
        try await send(message, to: key, activator: activator)
    }

    @inlinable
    func send(_ message: A.Message, to key: A.Key, activator: (@Sendable () async throws -> A)?) async throws -> A.Reply {
        while true {
            let activation = try activation(for: key)
            if let result = await handleDirectly(message, by: activation) { return try result.get() }
            let result: Result<A.Reply, any Error>? = await withCheckedContinuation { delivery in
                switch activation.enqueue(.init(message: message, delivery: delivery, activator: activator, enqueuedAt: .now)) {
                case .accepted(let startDrain, let depth):
                    mailboxDepth.record(depth)
                    if startDrain { Task { await self.drain(activation) } }
                case .full:
                    delivery.resume(returning: .failure(RuntimeError(
                        code: .overloaded, message: "mailbox of \(name) \(key) is full (\(settings.mailboxCapacity) messages)")))
                case .retired:
                    delivery.resume(returning: nil)
                }
            }
            if let result { return try result.get() }
            // The activation was passivated between lookup and delivery: look up again.
        }
    }

    /// Queues `message` for `key`'s activation without waiting for it to be handled; its
    /// reply, or error, is dropped. Throws at once when the mailbox is full.
    @inlinable
    public func tell(_ message: A.Message, to key: A.Key) throws {
        while true {
            let activation = try activation(for: key)
            switch activation.enqueue(.init(message: message, delivery: nil, enqueuedAt: .now)) {
            case .accepted(let startDrain, let depth):
                mailboxDepth.record(depth)
                if startDrain { Task { await self.drain(activation) } }
                return
            case .full:
                throw RuntimeError(code: .overloaded, message: "mailbox of \(name) \(key) is full (\(settings.mailboxCapacity) messages)")
            case .retired:
                continue
            }
        }
    }

    /// Queues `message` for `key`'s activation whether or not its mailbox is full, without
    /// waiting. For messages that carry state already committed elsewhere — the outcome of
    /// work the mailbox admitted before (a confirmation, a release) — which the mailbox's
    /// bound exists to slow down, not to lose: they are at most as many as the admitted work.
    /// Dropped only once the registry is shut down, when every activation's memory goes too.
    @inlinable
    public func deliver(_ message: A.Message, to key: A.Key) {
        while true {
            let activation: Activation<A>
            do {
                activation = try self.activation(for: key)
            } catch {
                return  // shut down: no activation outlives the registry
            }
            switch activation.enqueue(.init(message: message, delivery: nil, enqueuedAt: .now), overCapacity: true) {
            case .accepted(let startDrain, let depth):
                mailboxDepth.record(depth)
                if startDrain { Task { await self.drain(activation) } }
                return
            case .full, .retired:
                continue
            }
        }
    }

    /// Like `deliver`, but a message that finds the activation idle is handled before this
    /// returns, in the caller's task (see `VirtualActor.handlesWithoutSuspending`); otherwise
    /// it is queued as `deliver` queues it. Its reply, or error, is dropped either way.
    @inlinable
    public func deliverNow(_ message: A.Message, to key: A.Key) async {
        let activation: Activation<A>
        do {
            activation = try self.activation(for: key)
        } catch {
            return  // shut down: no activation outlives the registry
        }
        if await handleDirectly(message, by: activation) != nil { return }
        deliver(message, to: key)
    }

    /// Handles `message` in the caller's task when `A` allows it and the activation is idle
    /// and loaded; nil (nothing done) otherwise.
    @inlinable
    func handleDirectly(_ message: A.Message, by activation: Activation<A>) async -> Result<A.Reply, any Error>? {
        guard A.handlesWithoutSuspending, let instance = activation.beginDirect() else { return nil }
        let started = ContinuousClock.now
        let result: Result<A.Reply, any Error>
        do {
            result = .success(try await instance.handle(message))
        } catch {
            result = .failure(error)
        }
        latency.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        if activation.endDirect() { Task { await self.drain(activation) } }
        return result
    }

    /// Messages waiting in the mailbox of `key`'s activation (not counting the one being
    /// handled); 0 when it is not active.
    public func mailboxDepth(of key: A.Key) -> Int {
        state.withLock { $0.activations[key] }?.depth ?? 0
    }

    /// Keeps `key`'s activation (creating it if needed) from being passivated until a
    /// matching `unpin`. A caller that changes state an actor mirrors — committing a write
    /// the actor will apply afterwards — pins it first and makes sure it is loaded, so the
    /// change is applied once: by the activation that existed before the commit, never again
    /// on top of a fresh load that already contains it.
    public func pin(_ key: A.Key) throws {
        while true {
            let activation = try activation(for: key)
            let pinned = activation.state.withLock { state -> Bool in
                guard state.lifecycle != .deactivating, state.lifecycle != .invalid else { return false }
                state.pins += 1
                return true
            }
            if pinned { return }
        }
    }

    /// Releases one `pin` of `key`.
    public func unpin(_ key: A.Key) {
        guard let activation = state.withLock({ $0.activations[key] }) else { return }
        activation.state.withLock { $0.pins = max(0, $0.pins - 1) }
    }

    /// Whether `key` has an activation in this process now.
    public func isActive(_ key: A.Key) -> Bool {
        state.withLock { $0.activations[key] != nil }
    }

    /// Activations currently in the registry.
    public var activeCount: Int { state.withLock { $0.activations.count } }

    @inlinable
    func activation(for key: A.Key) throws -> Activation<A> {
        let (activation, created, count) = try state.withLock { state in
            if state.shutDown { throw RuntimeError(code: .shutDown, message: "registry \(name) is shut down") }
            if let existing = state.activations[key] { return (existing, false, state.activations.count) }
            let activation = Activation<A>(key: key, capacity: settings.mailboxCapacity)
            state.activations[key] = activation
            return (activation, true, state.activations.count)
        }
        if created { activeGauge.record(count) }
        return activation
    }

    /// Handles queued messages until the mailbox is empty. Only one drain runs per activation.
    /// Once the instance exists, the loop runs inside the actor's isolation, so a burst of
    /// messages costs one hop onto the actor, not one per message.
    @inlinable
    func drain(_ activation: Activation<A>) async {
        while let first = activation.next() {
            let instance: A
            do {
                if let active = activation.state.withLock({ $0.instance }) {
                    instance = active
                } else {
                    instance = try await instanceOf(activation, activator: first.activator)
                }
            } catch {
                first.delivery?.resume(returning: .failure(error))
                continue
            }
            await instance.drainMailbox(startingWith: first, of: activation, latency: latency)
            return
        }
    }

    @usableFromInline
    func instanceOf(_ activation: Activation<A>, activator: (@Sendable () async throws -> A)?) async throws -> A {
        if let previous = state.withLock({ $0.deactivations[activation.key] }) {
            await previous.value
        }
        activation.state.withLock { $0.lifecycle = .activating }
        do {
            let instance: A
            if let activator {
                instance = try await activator()
            } else {
                instance = try await A.activate(key: activation.key, context: context)
            }
            activation.state.withLock { state in
                state.instance = instance
                state.lifecycle = .valid
            }
            activationsCounter.increment()
            return instance
        } catch {
            activation.state.withLock { $0.lifecycle = .creating }
            logger.warning("activation failed", metadata: ["registry": "\(name)", "key": "\(activation.key)", "error": "\(error)"])
            throw error
        }
    }

    /// Passivates activations unused for `idleTimeout`, then the least recently used idle ones
    /// past `maxActivations`. Busy activations are never passivated: they finish their
    /// mailbox first and are considered again next time.
    public func collect(now: ContinuousClock.Instant = .now) async {
        let candidates = state.withLock { Array($0.activations.values) }
        var retired: [(Activation<A>, A?)] = []
        let cutoff = now - settings.idleTimeout
        for activation in candidates {
            if let instance = activation.retireIfIdle(unusedSince: cutoff) { retired.append((activation, instance)) }
        }
        let excess = candidates.count - retired.count - settings.maxActivations
        if excess > 0 {
            let retiredKeys = Set(retired.map { $0.0.key })
            let byAge = candidates.filter { !retiredKeys.contains($0.key) }.sorted { $0.lastUsed < $1.lastUsed }
            var evicted = 0
            for activation in byAge where evicted < excess {
                if let instance = activation.retireIfIdle(unusedSince: nil) {
                    retired.append((activation, instance))
                    evicted += 1
                }
            }
        }
        guard !retired.isEmpty else { return }
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            retired.map { activation, instance in
                if state.activations[activation.key] === activation {
                    state.activations.removeValue(forKey: activation.key)
                }
                let previous = state.deactivations[activation.key]
                let task = Task {
                    await previous?.value
                    await instance?.deactivate()
                    activation.state.withLock { $0.lifecycle = .invalid }
                }
                state.deactivations[activation.key] = task
                return task
            }
        }
        for task in tasks { await task.value }
        let count = state.withLock { state in
            for (activation, _) in retired where state.deactivations[activation.key] != nil {
                // Forget finished deactivations (a newer one may have replaced the entry).
                if activation.state.withLock({ $0.lifecycle == .invalid }) {
                    state.deactivations.removeValue(forKey: activation.key)
                }
            }
            return state.activations.count
        }
        passivationsCounter.increment(by: retired.count)
        activeGauge.record(count)
        logger.debug("passivated activations", metadata: ["registry": "\(name)", "count": "\(retired.count)"])
    }

    /// Refuses new messages; passivates every activation once its mailbox is empty.
    public func shutdown() async {
        state.withLock { $0.shutDown = true }
        while activeCount > 0 {
            await collect(now: .now + settings.idleTimeout + .seconds(1))
            if activeCount > 0 { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }
}

extension ActorRegistry: PassivatingRegistry {}

/// A registry whose idle activations `IdleCollector` passivates.
public protocol PassivatingRegistry: Sendable {
    func collect(now: ContinuousClock.Instant) async
}

extension VirtualActor {
    /// Handles `first`, then every message queued after it, one at a time, until the mailbox
    /// is empty (which ends the activation's drain).
    @inlinable
    func drainMailbox(startingWith first: Activation<Self>.Envelope, of activation: Activation<Self>, latency: Metrics.Timer) async {
        var next: Activation<Self>.Envelope? = first
        while let envelope = next {
            let result: Result<Reply, any Error>
            do {
                result = .success(try await ServiceContext.withValue(envelope.context) { try await handle(envelope.message) })
            } catch {
                result = .failure(error)
            }
            latency.recordNanoseconds((ContinuousClock.now - envelope.enqueuedAt).nanoseconds)
            envelope.delivery?.resume(returning: result)
            next = activation.next()
        }
    }
}
