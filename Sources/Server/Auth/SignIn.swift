import Foundation
import IntakeActors

/// Email and password to a session: what `POST /v1/sessions` and the dashboard's login form
/// both do. An unknown email and a wrong password get the same answer, after the same
/// bcrypt work.
struct SignIn: Sendable {
    let users: UserDirectory
    let sessions: SessionStore
    let tokens: TokenIssuer
    let passwords: PasswordHasher

    /// The user the credentials name, or `401 unauthorized`. A hash under an older scheme is
    /// upgraded on the way.
    func verify(email: String, password: String) async throws -> User {
        let refused = Problem.unauthorized("wrong email or password")
        guard let found = try await users.credentials(email: email) else {
            try await passwords.verifyAgainstDummy(password)
            throw refused
        }
        guard try await passwords.verify(password, against: found.passwordHash) else { throw refused }
        if passwords.needsUpgrade(found.passwordHash) {
            let upgraded = try await passwords.hash(password)
            try await users.replacePasswordHash(userID: found.user.id, expected: found.passwordHash, with: upgraded)
        }
        return found.user
    }

    /// Starts a session for `user`; its access token.
    func startSession(for user: User) async throws -> String {
        guard let sessionID = try await sessions.start(userID: user.id, lifetime: tokens.lifetime) else {
            throw Problem.unauthorized("wrong email or password")
        }
        return try await tokens.issue(for: Principal(userID: user.id, role: user.role, sessionID: sessionID))
    }
}
