import Foundation
import IntakeActors
import IntakeRuntime
import JWTKit
import Synchronization

/// Signs and verifies access tokens: JWT HS256 with `sub` (user id), `role`, `sid` (session
/// id) and `exp`. A verified token is only half the check: its session must also still
/// exist (`SessionStore`).
public struct TokenIssuer: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var role: String
        var sid: String

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    private let keys: JWTKeyCollection
    public let lifetime: Duration
    /// Tokens already verified, with their expiry: a client sends the same token with every
    /// request, and its signature cannot change. Bounded; emptied when full.
    private let verified = VerifiedTokens()

    public init(secret: [UInt8], lifetime: Duration) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.lifetime = lifetime
    }

    /// A token for a new session.
    public func issue(for principal: Principal, now: Date = Date()) async throws -> String {
        let claims = Claims(
            sub: .init(value: principal.userID.lowercased), exp: .init(value: now.addingTimeInterval(lifetimeSeconds)),
            iat: .init(value: now), role: principal.role.rawValue, sid: principal.sessionID)
        return try await keys.sign(claims)
    }

    var lifetimeSeconds: Double { Double(lifetime.components.seconds) }

    /// The principal a token names, when its signature, algorithm and expiry are valid; nil
    /// for anything else (the caller answers 401 without saying why).
    public func verify(_ token: String, now: Date = Date()) async -> Principal? {
        if let known = verified.principal(for: token, now: now) { return known }
        guard Self.headerAlgorithm(of: token) == "HS256" else { return nil }
        guard let claims = try? await keys.verify(token, as: Claims.self),
            let userID = UUID(canonical: claims.sub.value), let role = Role(rawValue: claims.role), !claims.sid.isEmpty
        else { return nil }
        let principal = Principal(userID: userID, role: role, sessionID: claims.sid)
        verified.remember(token, principal, until: claims.exp.value)
        return principal
    }

    /// The `alg` of a compact JWS header: anything but HS256 (`none` in particular) is
    /// refused before any key is tried.
    static func headerAlgorithm(of token: String) -> String? {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first else { return nil }
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["alg"] as? String
    }
}

/// Verified tokens and when they expire (the expiry is checked on every use).
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: (principal: Principal, expires: Date)]>([:])
    private let capacity = 50_000

    func principal(for token: String, now: Date) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            if entry.expires > now { return entry.principal }
            entries[token] = nil
            return nil
        }
    }

    func remember(_ token: String, _ principal: Principal, until expires: Date) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = (principal, expires)
        }
    }
}
