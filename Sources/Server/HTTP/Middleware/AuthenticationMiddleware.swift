import Hummingbird

/// Sets `context.principal` when the request carries a bearer token that verifies and whose
/// session still exists. A missing or bad token leaves it nil (routes that need one answer
/// 401). When Redis cannot say whether the session exists, the request fails with 503:
/// authentication fails closed, never letting a revoked token through.
struct AuthenticationMiddleware<Context: IntakeContext>: RouterMiddleware {
    let tokens: TokenIssuer
    let sessions: SessionStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers.value(.authorization) else { return try await next(request, context) }
        var context = context
        let parts = header.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "bearer", let principal = await tokens.verify(String(parts[1])),
            try await sessions.isActive(principal.sessionID, userID: principal.userID)
        {
            context.principal = principal
        }
        return try await next(request, context)
    }
}
