import Foundation
import Synchronization

/// Random identifiers that must be unique, not secret: request ids and event ids. Foundation's `UUID()` opens, reads and closes
/// `/dev/urandom` for each one (three system calls; 3% of the server's CPU per order in
/// `perf`), and `SystemRandomNumberGenerator` makes a `getrandom` call per 64 bits.
///
/// This is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014) over one atomic counter seeded from the system generator at
/// first use: lock-free, distinct outputs for 2⁶⁴ calls in a process, different streams
/// per process. Its output is predictable from earlier outputs (one request id gives the
/// next ones), so it must never make a secret, nor an id anyone should not be able to guess:
/// sessions, tokens and the random bits of entity ids (`UUIDv7`) use the system generator.
public enum UniqueID {
    private static let counter = Atomic<UInt64>(SystemRandomNumberGenerator().nextSeed())
    private static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// 64 random bits.
    public static func next() -> UInt64 {
        mix(counter.wrappingAdd(gamma, ordering: .relaxed).newValue)
    }

    /// A SplitMix64 stream of its own, seeded from `next()`: for many choices that need not be
    /// secret, without an atomic add per value (a load generator's picks: made with
    /// `SystemRandomNumberGenerator`, five `getrandom` calls per order, they were charged to
    /// intake's CPU in the in-process benchmark, `perf`, session 9).
    public struct Generator: RandomNumberGenerator {
        private var state = UniqueID.next()

        public init() {}

        public mutating func next() -> UInt64 {
            state &+= UniqueID.gamma
            return UniqueID.mix(state)
        }
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A version-4 (random) UUID.
    public static func uuid() -> UUID {
        let high = next()
        let low = next()
        var bytes = (
            UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
            UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        withUnsafeMutableBytes(of: &bytes) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            raw[6] = 0x40 | (raw[6] & 0x0F)
            raw[8] = 0x80 | (raw[8] & 0x3F)
        }
        return UUID(uuid: bytes)
    }
}

extension SystemRandomNumberGenerator {
    fileprivate func nextSeed() -> UInt64 {
        var generator = self
        return generator.next()
    }
}
