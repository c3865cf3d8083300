import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntakeRuntime
import IntakeServer
import Testing

@Suite("Operations endpoints and cross-cutting HTTP rules")
struct OperationsRoutesTests {
    @Test func healthReadinessAndOpenAPI() async throws {
        try await withAPI { h in
            #expect(try await h.call(.get, "/healthz").status == .ok)
            let ready = try await h.call(.get, "/readyz")
            #expect(ready.status == .ok, "\(ready.text)")
            #expect((ready.object["checks"] as? [String: String])?["postgres"] == "ok")
            let spec = try await h.call(.get, "/openapi.yaml")
            #expect(spec.status == .ok)
            #expect(spec.text.hasPrefix("openapi: 3"))
        }
    }

    /// `/readyz` answers anyone: a failed check says `down`, not the driver's error with the
    /// database's host, port and user (the dashboard, for admins, keeps it).
    @Test func readinessShownToAnyoneHidesTheDriversErrors() {
        let report = Readiness.Report(
            ready: false, checks: ["postgres": "down: cannot connect to postgres://intake:***@10.0.0.5:5432/intake: refused", "redis": "ok"])
        #expect(report.withoutErrorDetails.checks == ["postgres": "down", "redis": "ok"])
        #expect(report.withoutErrorDetails.ready == false)
    }

    @Test func requestIDsAreEchoedOrMadeUpAndBodiesAreLimited() async throws {
        try await withAPI { h in
            let echoed = try await h.call(.get, "/healthz", headers: [HTTPField.Name("X-Request-Id")!: "abc-123"])
            #expect(echoed.headers[HTTPField.Name("X-Request-Id")!] == "abc-123")
            let long = "trace " + String(repeating: "x", count: 1_000)
            #expect(try await h.call(.get, "/healthz", headers: [HTTPField.Name("X-Request-Id")!: long]).headers[HTTPField.Name("X-Request-Id")!] == long)
            let tooLong = String(repeating: "y", count: 1_025)
            let replaced = try await h.call(.get, "/healthz", headers: [HTTPField.Name("X-Request-Id")!: tooLong]).headers[HTTPField.Name("X-Request-Id")!]
            #expect(replaced != nil && replaced != tooLong)
            let made = try await h.call(.get, "/v1/products/\(UUID())")
            #expect(made.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false, "errors carry one too")
            let huge = "{\"email\":\"" + String(repeating: "a", count: 1 << 20) + "@example.com\",\"password\":\"password-123\"}"
            let tooLarge = try await h.call(.post, "/v1/users", json: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.problem == "payload-too-large")
            // A compressed body is refused, not read as JSON.
            for encoding in ["gzip", "br", "identity, gzip"] {
                let compressed = try await h.call(
                    .post, "/v1/users", json: #"{"email":"enc@example.com","password":"password-123"}"#,
                    headers: [.contentEncoding: encoding])
                #expect(compressed.status == .unsupportedMediaType && compressed.problem == "unsupported-media-type", "\(encoding)")
            }
            #expect(try await h.call(
                .post, "/v1/users", json: #"{"email":"enc@example.com","password":"password-123"}"#, headers: [.contentEncoding: "identity"]).status == .created)
            let nowhere = try await h.call(.get, "/v1/nowhere")
            #expect(nowhere.status == .notFound)
        }
    }

    /// HEAD is served wherever GET is (its status and headers, no body); another method on a
    /// known path is 405 with `Allow`.
    @Test func headWhereGetIsServedAndMethodNotAllowedElsewhere() async throws {
        try await withAPI { h in
            let get = try await h.call(.get, "/healthz")
            let head = try await h.call(.head, "/healthz")
            #expect(head.status == .ok && head.text.isEmpty, "\(head.status) \(head.text)")
            #expect(head.headers[.contentType] == get.headers[.contentType])
            let unauthorized = try await h.call(.head, "/v1/orders")
            #expect(unauthorized.status == .unauthorized && unauthorized.text.isEmpty)
            let refused = try await h.call(.delete, "/healthz")
            #expect(refused.status == .methodNotAllowed && refused.problem == "method-not-allowed")
            #expect(refused.headers[.allow] == "GET, HEAD")
            #expect(try await h.call(.head, "/v1/nowhere").status == .notFound)
        }
    }

    /// Every route the router serves is in openapi.yaml, and every path of openapi.yaml is
    /// served.
    @Test func openAPIDescribesExactlyTheRoutesServed() async throws {
        try await withAPI { h in
            let served = Set(h.api.makeRouter().routes.map { "\($0.method.rawValue.lowercased()) \($0.path.description)" })
            let spec = try await h.call(.get, "/openapi.yaml").text
            var documented: Set<String> = []
            var path: String?
            for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("  /"), line.hasSuffix(":") {
                    path = String(line.dropFirst(2).dropLast())
                } else if line.hasPrefix("    "), !line.hasPrefix("     "), let current = path {
                    let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                    if ["get", "post", "put", "patch", "delete"].contains(String(method)) { documented.insert("\(method) \(current)") }
                } else if !line.hasPrefix(" ") {
                    path = nil
                }
            }
            #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
            #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
        }
    }
}

@Suite("Prometheus metrics")
struct MetricsTests {
    @Test func metricsShowRequestsByRouteAndStatusAndTheRuntimesGauges() async throws {
        PrometheusExport.bootstrap()
        try await withAPI { h in
            _ = try await h.call(.get, "/healthz")
            _ = try await h.call(.get, "/v1/products/\(UUID())")
            try await JobRescuer(client: h.db).reportDepth()
            let metrics = try await h.call(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains(#"hb_requests{http_route="/healthz",http_request_method="GET",http_response_status_code="200"}"#), "\(text.prefix(2000))")
            #expect(text.contains(#"http_route="/v1/products/{id}",http_request_method="GET",http_response_status_code="404""#))
            #expect(text.contains("http_server_request_duration_bucket"), "latency histograms")
            #expect(text.contains(#"intake_jobs{state="available"}"#))
        }
    }
}

extension MetricsTests {
    /// A `HEAD` is counted like any request and leaves the active-requests gauge as it found
    /// it (hostile review, session 13: Hummingbird's middleware records a request once its
    /// body is written, which a `HEAD`'s never is — each one raised the gauge for ever).
    @Test func headRequestsAreCountedAndEnd() async throws {
        PrometheusExport.bootstrap()
        try await withAPI { h in
            try await h.live { port in
                func scrape() async throws -> (heads: Int, active: Int) {
                    let text = try await RawHTTP.send(port: port, method: "GET", path: "/metrics", headers: ["Connection: close"], body: [], chunked: false).body
                    func value(_ prefix: String) -> Int {
                        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
                    }
                    return (
                        value(#"hb_requests{http_route="/openapi.yaml",http_request_method="HEAD",http_response_status_code="200"}"#),
                        value(#"http_server_active_requests{http_request_method="HEAD"}"#))
                }
                let before = try await scrape()
                for _ in 0..<5 {
                    let head = try await RawHTTP.send(port: port, method: "HEAD", path: "/openapi.yaml", headers: ["Connection: close"], body: [], chunked: false)
                    #expect(head.status == 200, "\(head.head)")
                }
                let after = try await scrape()
                // A route no other test asks with HEAD (the metrics are the process's, shared
                // by the tests running alongside); their HEADs may be in flight at a scrape,
                // never five of them left over.
                #expect(after.heads - before.heads == 5)
                #expect(after.active - before.active < 5, "no HEAD is left counted as in flight")
            }
        }
    }
}

@Suite("API reference page")
struct APIReferencePageTests {
    @Test func everyOperationOfTheServedDocumentIsListedAndLinked() async throws {
        try await withAPI { h in
            let yaml = try await h.call(.get, "/openapi.yaml").text
            let page = try await h.call(.get, "/docs")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let paths = yaml.split(separator: "\n").filter { $0.hasPrefix("  /") && !$0.hasPrefix("   ") }.map { String($0.dropFirst(2).dropLast()) }
            #expect(paths.count >= 19)
            for path in paths {
                #expect(page.text.contains("<code>\(path)</code></a>"), "\(path) is listed")
            }
            #expect(page.text.contains("<td class=m>POST</td><td><a href=\"#op-v1-orders\"><code>/v1/orders</code></a>"))
            #expect(!page.text.contains("<script"), "no script, no CDN")
            #expect(!page.text.contains("http://cdn") && !page.text.contains("https://cdn"))
        }
    }
}
