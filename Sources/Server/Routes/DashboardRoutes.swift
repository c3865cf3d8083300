import Foundation
import HTTPTypes
import Hummingbird
import IntakeRuntime

/// `/dashboard` (the live page), `/dashboard/data` (its JSON), `/dashboard/login` and
/// `/dashboard/logout` (the cookie session), `/dashboard/dashboard.js` (the page's script).
/// Who may look is `DashboardAccess`'s rule; the cookie is `DashboardSession`'s; the numbers
/// are `Dashboard`'s. This file only reads requests and writes responses.
struct DashboardRoutes<Context: IntakeContext> {
    let dashboard: Dashboard
    let session: DashboardSession
    let signIn: SignIn

    func add(to router: Router<Context>) {
        router.get("dashboard", use: page)
        let group = router.group("dashboard")
        group.get("data", use: data)
        group.get("login", use: loginForm)
        group.post("login", use: login)
        group.post("logout", use: logout)
        // Copied out of the embedded text once, here at start-up.
        let script = Result { try ServerResource.bytes("Dashboard/dashboard.js") }
        group.get("dashboard.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(bytes: try script.get())))
        }
    }

    /// Pages: script from this server only, no frames, no referrer, never cached.
    static var pageHeaders: HTTPFields {
        [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("Referrer-Policy")!: "no-referrer", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: pageHeaders, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(to location: String) -> Response {
        var headers = pageHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// Nil for an admin; the redirect to the login form for a browser with no credential;
    /// a problem thrown for everyone else.
    func refusal(_ request: Request, context: Context) async throws -> Response? {
        let bearer = request.headers[.authorization] != nil
        var principal = context.principal
        if principal == nil, !bearer { principal = try await session.principal(of: request) }
        switch DashboardAccess.decide(principal: principal, hasCredential: bearer, wantsPage: DashboardAccess.wantsHTML(request)) {
        case .allow: return nil
        case .redirectToLogin: return Self.redirect(to: "/dashboard/login")
        case .refuse(let status) where status == 403: throw Problem.forbidden("the dashboard is for admins")
        case .refuse: throw Problem.unauthorized("an admin's bearer token or dashboard session is required")
        }
    }

    @Sendable func page(_ request: Request, context: Context) async throws -> Response {
        if let refused = try await refusal(request, context: context) { return refused }
        let look = try JSONSerialization.jsonObject(with: JSONBody.encoder.encode(await dashboard.look())) as? [String: Any] ?? [:]
        return Self.html(DashboardPage.render(look))
    }

    @Sendable func data(_ request: Request, context: Context) async throws -> Response {
        // The JSON is never a page: no redirect, a 401 problem.
        guard try await refusal(request, context: context) == nil else { throw Problem.unauthorized() }
        return try JSONBody.response(await dashboard.look(), headers: [.cacheControl: "no-store"])
    }

    @Sendable func loginForm(_ request: Request, context: Context) async throws -> Response {
        Self.html(DashboardPage.login())
    }

    struct LoginForm: Decodable {
        var email: String
        var password: String
    }

    /// `303` to the page with the session cookie; a refusal is the form again with the reason
    /// for a browser, a problem for anything else.
    @Sendable func login(_ request: Request, context: Context) async throws -> Response {
        do {
            guard !DashboardAccess.isCrossSite(request) else { throw Problem.forbidden("a sign-in posted from another site") }
            let body = String(buffer: try await JSONBody.bytes(of: request))
            let form: LoginForm
            do {
                form = try URLEncodedFormDecoder().decode(LoginForm.self, from: body)
            } catch let error as DecodingError {
                throw JSONBody.problem(for: error)
            } catch {
                throw Problem.validation("body: must be a form with email and password")
            }
            let user = try await signIn.verify(email: form.email, password: form.password)
            guard user.role == .admin else { throw Problem.forbidden("the dashboard is for admins") }
            var response = Self.redirect(to: "/dashboard")
            response.setCookie(session.cookie(token: try await signIn.startSession(for: user), for: request))
            return response
        } catch let problem as Problem where DashboardAccess.wantsHTML(request) && problem.status.code < 500 {
            return Self.html(DashboardPage.login(message: problem.detail), status: problem.status)
        }
    }

    /// Ends the cookie's session (a bearer token's is left alone: `DELETE /v1/sessions/current`
    /// ends that), clears the cookie, and goes back to the form.
    @Sendable func logout(_ request: Request, context: Context) async throws -> Response {
        guard !DashboardAccess.isCrossSite(request) else { throw Problem.forbidden("a sign-out posted from another site") }
        try await session.end(for: request)
        var response = Self.redirect(to: "/dashboard/login")
        response.setCookie(session.clearedCookie(for: request))
        return response
    }
}
