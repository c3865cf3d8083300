import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt, run on NIO's blocking thread pool: a hash takes tens of milliseconds of CPU and
/// must not occupy one of Swift's cooperative threads.
public final class PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of nothing anyone knows, at `cost`, made on first use (on the thread pool).
    private let dummyHash = Mutex<String?>(nil)

    public init(cost: UInt8 = 10) {
        self.cost = cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Verifies against the dummy hash, so that an unknown email costs the same time as a
    /// wrong password.
    public func verifyAgainstDummy(_ password: String) async throws {
        let dummy: String
        if let known = dummyHash.withLock({ $0 }) {
            dummy = known
        } else {
            dummy = try await hash("intake: no such user \(UInt64.random(in: 0...UInt64.max))")
            dummyHash.withLock { $0 = $0 ?? dummy }
        }
        _ = try await verify(password, against: dummy)
    }
}
