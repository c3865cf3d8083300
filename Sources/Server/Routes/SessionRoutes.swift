import Foundation
import Hummingbird
import IntakeActors

/// `/v1/sessions`: sign in and out.
struct SessionRoutes<Context: IntakeContext> {
    let users: UserDirectory
    let sessions: SessionStore
    let tokens: TokenIssuer
    let passwords: PasswordHasher

    func add(to group: RouterGroup<Context>) {
        group.post("sessions", use: signIn)
        group.delete("sessions/current", use: signOut)
    }

    /// An unknown email and a wrong password get the same answer, after the same bcrypt work.
    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONBody.decode(SignInRequest.self, from: request)
        let refused = Problem.unauthorized("wrong email or password")
        guard let found = try await users.credentials(email: body.email) else {
            try await passwords.verifyAgainstDummy(body.password)
            throw refused
        }
        guard try await passwords.verify(body.password, against: found.passwordHash) else { throw refused }
        if passwords.needsUpgrade(found.passwordHash) {
            let upgraded = try await passwords.hash(body.password)
            try await users.replacePasswordHash(userID: found.user.id, expected: found.passwordHash, with: upgraded)
        }
        let sessionID = try await sessions.start(userID: found.user.id, lifetime: tokens.lifetime)
        let token = try await tokens.issue(for: Principal(userID: found.user.id, role: found.user.role, sessionID: sessionID))
        return try JSONBody.response(
            SessionResponse(accessToken: token, expiresIn: Int(tokens.lifetime.components.seconds)), status: .created)
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        try await sessions.end(principal.sessionID, userID: principal.userID)
        return Response(status: .noContent)
    }
}
