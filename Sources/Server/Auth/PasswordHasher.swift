import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's blocking thread pool: a hash takes tens of milliseconds of CPU and
/// must not occupy one of Swift's cooperative threads.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    private let dummyHash: String

    /// Hashes once, at the given cost, to have a dummy to verify against (see
    /// `verifyAgainstDummy`).
    public init(cost: UInt8 = 10) {
        self.cost = cost
        dummyHash = Bcrypt.hash("intake: no such user", cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Verifies against a hash of nothing anyone knows, so that an unknown email costs the
    /// same time as a wrong password.
    public func verifyAgainstDummy(_ password: String) async throws {
        _ = try await verify(password, against: dummyHash)
    }
}
