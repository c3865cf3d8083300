/// When a failed job runs again: exponential backoff with jitter, capped.
///
/// Attempt 1 failing waits about `base`, attempt 2 about `2 × base`, and so on up to `cap`;
/// each delay is spread by ±`jitter` so that jobs that failed together do not return together.
public struct RetrySchedule: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration
    /// Fraction of the delay to spread by, 0...1.
    public var jitter: Double

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(3600), jitter: Double = 0.2) {
        self.base = base
        self.cap = cap
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay after the `attempt`-th attempt failed (attempts count from 1). `unit` is a
    /// random number in 0..<1 (injected so that tests are exact).
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 62)
        let baseSeconds = Self.seconds(base)
        let capSeconds = Self.seconds(cap)
        let raw = min(baseSeconds * Double(UInt64(1) << UInt64(exponent)), capSeconds)
        let spread = raw * jitter * (2 * unit - 1)
        return .milliseconds(Int64(((raw + spread) * 1000).rounded()))
    }

    public func delay(afterAttempt attempt: Int) -> Duration {
        delay(afterAttempt: attempt, unit: Double.random(in: 0..<1))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
