import Foundation
import Hummingbird
import IntakeActors

/// `/v1/sessions`: sign in and out (the rules are `SignIn`'s).
struct SessionRoutes<Context: IntakeContext> {
    let signIn: SignIn

    func add(to group: RouterGroup<Context>) {
        group.post("sessions", use: start)
        group.delete("sessions/current", use: end)
    }

    @Sendable func start(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONBody.decode(SignInRequest.self, from: request)
        let token = try await signIn.startSession(for: try await signIn.verify(email: body.email, password: body.password))
        return try JSONBody.response(
            SessionResponse(accessToken: token, expiresIn: Int(signIn.tokens.lifetime.components.seconds)), status: .created)
    }

    @Sendable func end(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        // The token was checked before this request's turn came: a logout that raced it
        // (same token) has ended the session since, and this one is refused like any
        // request after it (API.md: the token is rejected from then on).
        guard try await signIn.sessions.end(principal.sessionID, userID: principal.userID) else { throw Problem.unauthorized() }
        return Response(status: .noContent)
    }
}
