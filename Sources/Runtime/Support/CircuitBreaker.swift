import Synchronization

/// A time-based circuit breaker: after a dependency failed as unavailable, it is left alone
/// (the breaker is open) for `openInterval`, then the next call tries it again. Callers that
/// would each wait out the dependency's timeouts while it does not answer (a frozen Redis)
/// fail or fall back at once instead, and one call per interval finds out whether it is back.
public final class CircuitBreaker: Sendable {
    public let openInterval: Duration
    private let openedAt = Mutex<ContinuousClock.Instant?>(nil)

    public init(openInterval: Duration) {
        self.openInterval = openInterval
    }

    /// Whether the dependency failed less than `openInterval` ago.
    public var isOpen: Bool {
        openedAt.withLock { $0.map { ContinuousClock.now - $0 < openInterval } ?? false }
    }

    /// The dependency failed just now.
    public func open() {
        openedAt.withLock { $0 = .now }
    }
}
