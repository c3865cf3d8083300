import Foundation
import Hummingbird
import IntakeActors

/// `/v1/sessions`: sign in and out.
struct SessionRoutes<Context: IntakeContext> {
    let api: IntakeAPI

    func add(to group: RouterGroup<Context>) {
        group.post("sessions", use: signIn)
        group.delete("sessions/current", use: signOut)
    }

    /// An unknown email and a wrong password get the same answer, after the same bcrypt work.
    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONBody.decode(SignInRequest.self, from: request)
        let refused = Problem.unauthorized("wrong email or password")
        guard let found = try await api.users.credentials(email: body.email) else {
            try await api.passwords.verifyAgainstDummy(body.password)
            throw refused
        }
        guard try await api.passwords.verify(body.password, against: found.passwordHash) else { throw refused }
        if api.passwords.needsUpgrade(found.passwordHash) {
            let upgraded = try await api.passwords.hash(body.password)
            try await api.users.replacePasswordHash(userID: found.user.id, expected: found.passwordHash, with: upgraded)
        }
        let sessionID = try await api.sessions.start(userID: found.user.id, lifetime: api.tokens.lifetime)
        let token = try await api.tokens.issue(for: Principal(userID: found.user.id, role: found.user.role, sessionID: sessionID))
        return try JSONBody.response(
            SessionResponse(accessToken: token, expiresIn: Int(api.tokens.lifetime.components.seconds)), status: .created)
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        try await api.sessions.end(principal.sessionID, userID: principal.userID)
        return Response(status: .noContent)
    }
}
