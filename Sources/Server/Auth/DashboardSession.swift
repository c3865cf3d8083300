import Foundation
import HTTPTypes
import Hummingbird

/// The dashboard's browser session: the login form starts an ordinary session (`SignIn`) and
/// puts its access token in a cookie that only `/dashboard` sees — HttpOnly (no script reads
/// it), SameSite=Strict (no other site's page sends it), and Secure when the request came
/// over TLS (through a proxy that says `X-Forwarded-Proto: https`; on plain-HTTP loopback a
/// Secure cookie would not come back). The API routes never read it: they take bearer tokens
/// only, so the cookie cannot be used to change anything.
struct DashboardSession: Sendable {
    static let cookieName = "intake_dashboard"
    static let path = "/dashboard"

    let tokens: TokenIssuer
    let sessions: SessionStore

    /// The cookie's token, when the request carries one.
    static func token(of request: Request) -> String? {
        guard let value = request.cookies[cookieName]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// The principal of the request's cookie, when it names a live session; nil otherwise.
    /// Throws when Redis cannot say (authentication fails closed, as for bearer tokens).
    func principal(of request: Request) async throws -> Principal? {
        guard let token = Self.token(of: request), let principal = await tokens.verify(token) else { return nil }
        return try await sessions.isActive(principal.sessionID, userID: principal.userID) ? principal : nil
    }

    /// Ends the session the request's cookie names, if any.
    func end(for request: Request) async throws {
        guard let token = Self.token(of: request), let principal = await tokens.verify(token) else { return }
        try await sessions.end(principal.sessionID, userID: principal.userID)
    }

    func cookie(token: String, for request: Request) -> Cookie {
        Cookie(
            name: Self.cookieName, value: token, maxAge: Int(tokens.lifetime.components.seconds), path: Self.path,
            secure: Self.overTLS(request), httpOnly: true, sameSite: .strict)
    }

    /// A cookie that replaces the session's and expires at once.
    func clearedCookie(for request: Request) -> Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: Self.path, secure: Self.overTLS(request), httpOnly: true, sameSite: .strict)
    }

    static func overTLS(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}
