/// The retry schedule of a hold that came up short while other holds stood on its shards:
/// random pauses (so that callers that keep taking each other's last units fall out of step),
/// growing from about 1 ms to about 16 ms, for at most `maxAttempts` tries (about a quarter of
/// a second in all), after which the shortage is reported as real.
struct ShardContention: Sendable {
    static let maxAttempts = 24
    private(set) var attempts = 0
    private var random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()

    init() {}

    init(random: some RandomNumberGenerator & Sendable) {
        self.random = random
    }

    /// The pause before the next try, or nil when the tries are used up.
    mutating func nextPause() -> Duration? {
        guard attempts < Self.maxAttempts else { return nil }
        attempts += 1
        let ceiling = 1 << min(attempts / 4, 4)
        return .microseconds(Int.random(in: 500...(ceiling * 1000), using: &random))
    }
}
