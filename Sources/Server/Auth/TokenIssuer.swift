import Foundation
import IntakeActors
import JWTKit

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
    public func verify(_ token: String) async -> Principal? {
        guard Self.headerAlgorithm(of: token) == "HS256" else { return nil }
        guard let claims = try? await keys.verify(token, as: Claims.self),
            let userID = UUID(uuidString: claims.sub.value), let role = Role(rawValue: claims.role), !claims.sid.isEmpty
        else { return nil }
        return Principal(userID: userID, role: role, sessionID: claims.sid)
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
