import Synchronization

/// A circuit breaker in front of a dependency that can stop answering (a frozen Redis): calls
/// are refused at once, instead of each waiting out the dependency's timeouts, from the
/// moment one call has been waiting for `slowCall` or has failed, for `openInterval`; then a
/// single trial call goes through, and its outcome closes the breaker or opens it again.
///
/// ```swift
/// let breaker = CircuitBreaker(openInterval: .seconds(1), slowCall: .seconds(2))
/// let value = try await breaker.call { try await redis.command("GET", "k") }  // CircuitBreaker.Open when refused
/// ```
public final class CircuitBreaker: Sendable {
    /// The call was refused: the dependency failed or stalled a moment ago.
    public struct Open: Error, Sendable, CustomStringConvertible {
        public var description: String { "the circuit breaker is open: the dependency failed or did not answer a moment ago" }
    }

    private let state: Mutex<StateMachine>

    public init(openInterval: Duration, slowCall: Duration) {
        state = Mutex(StateMachine(openInterval: openInterval, slowCall: slowCall))
    }

    /// Whether calls are being refused now.
    public var isOpen: Bool { state.withLock { $0.refuses(now: .now) } }

    /// `body`'s result, or `Open` without calling it. A thrown error for which
    /// `isFailure` holds opens the breaker; any other outcome (a cancelled caller, by
    /// default) counts as an answer.
    public func call<T>(_ body: () async throws -> T, isFailure: (any Error) -> Bool = { !($0 is CancellationError) }) async throws -> T {
        guard let ticket = state.withLock({ $0.admit(now: .now) }) else { throw Open() }
        do {
            let value = try await body()
            state.withLock { $0.finished(ticket, failed: false, now: .now) }
            return value
        } catch {
            state.withLock { $0.finished(ticket, failed: isFailure(error), now: .now) }
            throw error
        }
    }

    /// Opens the breaker for a failure seen outside `call` (an answer that says the dependency
    /// cannot serve now, such as Redis's `-LOADING`).
    public func trip() {
        state.withLock { $0.trip(now: .now) }
    }

    /// The breaker's decisions, pure (tested without I/O).
    struct StateMachine {
        enum Phase: Equatable {
            case closed
            case open(until: ContinuousClock.Instant)
            /// One trial call is out; everything else is refused until it ends.
            case halfOpen
        }

        let openInterval: Duration
        let slowCall: Duration
        private(set) var phase = Phase.closed
        /// Calls in flight, by ticket, with their start.
        private var inFlight: [UInt64: ContinuousClock.Instant] = [:]
        /// When a successful trial closed the breaker: calls still out from before count as
        /// waiting only from then (the trial's answer says the dependency is back).
        private var closedAt: ContinuousClock.Instant?
        private var nextTicket: UInt64 = 0

        init(openInterval: Duration, slowCall: Duration) {
            self.openInterval = openInterval
            self.slowCall = slowCall
        }

        /// A ticket for a call starting now, or nil when it is refused.
        mutating func admit(now: ContinuousClock.Instant) -> UInt64? {
            switch phase {
            case .closed:
                if callHasWaitedTooLong(now: now) {
                    phase = .open(until: now + openInterval)
                    return nil
                }
            case .open(let until):
                guard now >= until else { return nil }
                phase = .halfOpen
            case .halfOpen:
                return nil
            }
            nextTicket += 1
            inFlight[nextTicket] = now
            return nextTicket
        }

        mutating func finished(_ ticket: UInt64, failed: Bool, now: ContinuousClock.Instant) {
            inFlight[ticket] = nil
            if failed {
                phase = .open(until: now + openInterval)
            } else if phase == .halfOpen {
                phase = .closed
                closedAt = now
            }
        }

        mutating func trip(now: ContinuousClock.Instant) {
            phase = .open(until: now + openInterval)
        }

        /// Whether a call starting now would be refused (without admitting one).
        func refuses(now: ContinuousClock.Instant) -> Bool {
            switch phase {
            case .closed: callHasWaitedTooLong(now: now)
            case .open(let until): now < until
            case .halfOpen: true
            }
        }

        private func callHasWaitedTooLong(now: ContinuousClock.Instant) -> Bool {
            guard let oldest = inFlight.values.min() else { return false }
            return now - max(oldest, closedAt ?? oldest) >= slowCall
        }
    }
}
