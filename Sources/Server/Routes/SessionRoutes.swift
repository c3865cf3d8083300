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
        try await signIn.sessions.end(principal.sessionID, userID: principal.userID)
        return Response(status: .noContent)
    }
}
