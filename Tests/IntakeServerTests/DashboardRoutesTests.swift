import Foundation
import HTTPTypes
import HummingbirdTesting
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import NIOCore
import Testing

/// `/dashboard` against real Postgres and Redis: who may look (bearer token or the login
/// form's cookie), what the JSON says, and that its numbers move when orders are placed.
@Suite("The operator's dashboard")
struct DashboardRoutesTests {
    static let html: HTTPFields = [.accept: "text/html,application/xhtml+xml"]

    /// A form post, as a browser sends the login form.
    func post(_ h: APIHarness, _ uri: String, form: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        fields[.contentType] = "application/x-www-form-urlencoded"
        return try await h.client.executeRequest(uri: uri, method: .post, headers: fields, body: ByteBuffer(string: form))
    }

    /// The `name=value` of the response's `intake_dashboard` Set-Cookie, and its attributes.
    func sessionCookie(_ response: TestResponse) throws -> (pair: String, attributes: [String]) {
        let header = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("intake_dashboard=") })
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        return (parts[0], Array(parts.dropFirst()))
    }

    func form(_ email: String, _ password: String) -> String {
        "email=\(email.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&password=\(password)"
    }

    @Test func onlyAdminsSeeItByBearerToken() async throws {
        try await withAPI { h in
            let customer = try await h.customer()
            let admin = try await h.admin()
            for uri in ["/dashboard", "/dashboard/data"] {
                let anonymous = try await h.call(.get, uri)
                #expect(anonymous.status == .unauthorized, "\(uri)")
                #expect(anonymous.problem == "unauthorized")
                let bad = try await h.call(.get, uri, token: "not-a-token", headers: Self.html)
                #expect(bad.status == .unauthorized, "a bad bearer token is refused, not redirected: \(uri)")
                let forbidden = try await h.call(.get, uri, token: customer.token, headers: Self.html)
                #expect(forbidden.status == .forbidden, "\(uri)")
                #expect(forbidden.problem == "forbidden")
                #expect(forbidden.headers[.contentType] == "application/problem+json")
            }
            let browser = try await h.call(.get, "/dashboard", headers: Self.html)
            #expect(browser.status == .seeOther)
            #expect(browser.headers[.location] == "/dashboard/login")
            #expect(try await h.call(.get, "/dashboard/data", headers: Self.html).status == .unauthorized, "the JSON never redirects")

            let page = try await h.call(.get, "/dashboard", token: admin)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.text.contains(#"<script src="/dashboard/dashboard.js" defer></script>"#))
            #expect(page.text.contains(#"data-field="metrics.orders_per_second""#))
            #expect(page.text.contains(#"<td>postgres</td><td class="ok">ok</td>"#), "health is rendered on the server")
            let script = try await h.call(.get, "/dashboard/dashboard.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.text.contains("/dashboard/data"))
        }
    }

    @Test func theLoginFormSetsAStrictHttpOnlyCookieThatLogoutEnds() async throws {
        try await withAPI { h in
            let form = try await h.call(.get, "/dashboard/login")
            #expect(form.status == .ok)
            #expect(form.text.contains(#"<form class="login" method="post" action="/dashboard/login">"#))

            let email = "dash-\(UUID().uuidString.prefix(8))@example.com"
            _ = try await h.api.users.create(
                email: email, passwordHash: try await h.api.passwords.hash(APIHarness.adminPassword), name: nil, region: nil, role: .admin)
            let wrong = try await post(h, "/dashboard/login", form: self.form(email, "wrong-password"), headers: Self.html)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text.contains("wrong email or password"), "a browser gets the form again with the reason")
            #expect(wrong.headers[values: .setCookie].isEmpty)
            let wrongAPI = try await post(h, "/dashboard/login", form: self.form(email, "wrong-password"))
            #expect(wrongAPI.problem == "unauthorized")
            let missing = try await post(h, "/dashboard/login", form: "email=\(email)")
            #expect(missing.status == .unprocessableContent)
            #expect(missing.problem == "validation")
            let customer = "cust-\(UUID().uuidString.prefix(8))@example.com"
            _ = try await h.customer(customer)
            let notAdmin = try await post(h, "/dashboard/login", form: self.form(customer, "password-123"))
            #expect(notAdmin.status == .forbidden)
            #expect(notAdmin.headers[values: .setCookie].isEmpty)
            let crossSite = try await post(
                h, "/dashboard/login", form: self.form(email, APIHarness.adminPassword), headers: [.origin: "http://evil.example"])
            #expect(crossSite.status == .forbidden, "a form posted from another site")
            #expect(crossSite.headers[values: .setCookie].isEmpty)

            let signedIn = try await post(
                h, "/dashboard/login", form: self.form(email, APIHarness.adminPassword), headers: [.secFetchSite: "same-origin"])
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.headers[.location] == "/dashboard")
            let cookie = try sessionCookie(signedIn)
            #expect(Set(cookie.attributes).isSuperset(of: ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age=3600"]), "\(cookie.attributes)")
            #expect(!cookie.attributes.contains("Secure"), "plain HTTP on loopback")
            let viaTLS = try await post(
                h, "/dashboard/login", form: self.form(email, APIHarness.adminPassword), headers: [.xForwardedProto: "https"])
            #expect(try sessionCookie(viaTLS).attributes.contains("Secure"))

            let withCookie: HTTPFields = [.cookie: cookie.pair, .accept: "text/html"]
            #expect(try await h.call(.get, "/dashboard", headers: withCookie).status == .ok)
            let data = try await h.call(.get, "/dashboard/data", headers: withCookie)
            #expect(data.status == .ok, "\(data.text)")
            #expect(data.object["metrics"] is [String: Any])
            let api = try await h.call(
                .post, "/v1/products", json: #"{"sku":"COOKIE","name":"n","price":"1.00","initial_stock":1}"#, headers: [.cookie: cookie.pair])
            #expect(api.status == .unauthorized, "the API takes bearer tokens only, never the cookie")

            #expect(try await h.call(.post, "/dashboard/logout", headers: [.cookie: cookie.pair, .origin: "http://evil.example"]).status == .forbidden)
            let out = try await h.call(.post, "/dashboard/logout", headers: [.cookie: cookie.pair])
            #expect(out.status == .seeOther)
            #expect(out.headers[.location] == "/dashboard/login")
            #expect(try sessionCookie(out).attributes.contains("Max-Age=0"))
            #expect(try await h.call(.get, "/dashboard/data", headers: withCookie).status == .unauthorized, "the session is over")
            let back = try await h.call(.get, "/dashboard", headers: withCookie)
            #expect(back.status == .seeOther, "a browser with a stale cookie goes back to the form")
        }
    }

    @Test func theDataHasItsShapeAndItsNumbersMoveWithOrders() async throws {
        PrometheusExport.bootstrap()
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 100)
            let first = try await h.call(.get, "/dashboard/data", token: admin)
            #expect(first.status == .ok)
            #expect(first.headers[.cacheControl] == "no-store")
            let object = first.object
            #expect(Set(object.keys) == ["generated_at", "metrics", "health", "etl_runs", "data_quality", "series"])
            let metrics = try #require(object["metrics"] as? [String: Any])
            for key in ["orders_total", "requests_total", "latency_ms", "errors", "actors_active", "mailbox_depth", "commit_ms", "queue"] {
                #expect(metrics[key] != nil, "metrics.\(key)")
            }
            let health = try #require(object["health"] as? [String: Any])
            #expect(health["ready"] as? Bool == true)
            #expect((health["checks"] as? [String: String]) == ["postgres": "ok", "redis": "ok"])
            #expect((object["etl_runs"] as? [String: Any])?["items"] is [Any])
            #expect((object["data_quality"] as? [String: Any])?["items"] is [Any])
            let ordersBefore = try #require(metrics["orders_total"] as? Int)

            for _ in 0..<3 { #expect(try await h.order(admin, product: product).status == .created) }
            _ = try await h.call(.get, "/v1/products/\(UUID())")
            try await JobRescuer(client: h.db).reportDepth()
            _ = try await h.api.data?.quality.runAll()
            var latest: [String: Any] = [:]
            try await waitUntil("orders/s, latency and group-commit batches of the last seconds show") {
                latest = try await h.call(.get, "/dashboard/data", token: admin).object
                let metrics = latest["metrics"] as? [String: Any] ?? [:]
                return (metrics["orders_per_second"] as? Double ?? 0) > 0 && (metrics["latency_ms"] as? [String: Any])?["p99"] is Double
                    && (metrics["batch_size"] as? Double ?? 0) >= 1
            }
            let now = try #require(latest["metrics"] as? [String: Any])
            #expect(try #require(now["orders_total"] as? Int) >= ordersBefore + 3)
            #expect((now["actors_active"] as? [String: Int])?.isEmpty == false, "order and stock actors are active")
            #expect((now["batch_size"] as? Double ?? 0) >= 1, "write sets per group-commit batch")
            #expect((now["commit_ms"] as? [String: Any])?["p99"] is Double, "group-commit latency")
            #expect((now["queue"] as? [String: Int])?["available"] != nil, "queue depth by state")
            let errors = try #require(now["errors"] as? [[String: Any]])
            #expect(errors.contains { $0["status"] as? String == "404" && ($0["total"] as? Int ?? 0) >= 1 })
            let checks = try #require((latest["data_quality"] as? [String: Any])?["items"] as? [[String: Any]])
            #expect(checks.contains { $0["check"] as? String == "orders.id.unique" && $0["passed"] as? Bool == true })
            let series = try #require(latest["series"] as? [[String: Any]])
            #expect(series.count >= 2)
            #expect(series.contains { ($0["orders_per_second"] as? Double ?? 0) > 0 })
        }
    }
}

extension HTTPField.Name {
    static var secFetchSite: HTTPField.Name { HTTPField.Name("Sec-Fetch-Site")! }
    static var xForwardedProto: HTTPField.Name { HTTPField.Name("X-Forwarded-Proto")! }
}
