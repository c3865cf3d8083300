import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Password hashes, made and checked on NIO's blocking thread pool: a hash takes tens of
/// milliseconds of CPU and must not occupy one of Swift's cooperative threads.
///
/// bcrypt reads at most 72 bytes and stops at the first NUL, so on its own two passwords that
/// share 72 bytes would both sign in. Hashes of version 2 (`v2:` + bcrypt) therefore hash a
/// fixed-size pre-hash of the whole password instead: base64 of HMAC-SHA256 over its NFC
/// UTF-8 bytes (44 ASCII characters, no NUL), the scheme Dropbox and passlib's
/// `bcrypt_sha256` use. The HMAC key is a constant for domain separation, not a secret:
/// bcrypt's cost is the protection, and hashes stay valid whatever secrets rotate.
/// A legacy hash (plain bcrypt, before version 2) still verifies and `needsUpgrade` says
/// so: the caller re-hashes on the next successful sign-in.
public final class PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of nothing anyone knows, at `cost`, made on first use (on the thread pool).
    private let dummyHash = Mutex<String?>(nil)

    static let versionPrefix = "v2:"
    private static let preHashKey = SymmetricKey(data: Array("intake.password.v2".utf8))

    public init(cost: UInt8 = 10) {
        self.cost = cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        let input = Self.preHash(password)
        return try await NIOThreadPool.singleton.runIfActive { Self.versionPrefix + Bcrypt.hash(input, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        if hash.hasPrefix(Self.versionPrefix) {
            let input = Self.preHash(password)
            let bcrypt = String(hash.dropFirst(Self.versionPrefix.count))
            return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(input, hash: bcrypt) }
        }
        // A legacy hash compares bcrypt's first 72 bytes only, up to a NUL: refuse at least
        // what it could never have been made from.
        guard !password.utf8.contains(0) else { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A hash made before version 2, to be replaced after the next successful sign-in.
    public func needsUpgrade(_ hash: String) -> Bool {
        !hash.hasPrefix(Self.versionPrefix)
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

    static func preHash(_ password: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(password.precomposedStringWithCanonicalMapping.utf8), using: preHashKey)
        return Data(mac).base64EncodedString()
    }
}
