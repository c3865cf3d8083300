import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntakeServer
import IntakeTestSupport
import NIOCore
import Testing

/// The fuzz stage of bad input: every field of every route, and every body as a whole, gets
/// each kind of hostile value; every answer must be below 500, and every refusal a
/// problem+json. The values are fixed (no randomness), so a failure names its input and
/// replays exactly. The count of requests sent is printed (`FUZZ ... requests`) and quoted in
/// RELIABILITY.md.
@Suite("Bad input: hostile values on every route and field")
struct HostileInputFuzzTests {
    /// JSON texts put in place of a field's value. A few are not valid JSON on purpose
    /// (lone surrogates are, syntactically; a raw control character is not).
    static let values: [String] = [
        #""\u0000""#, #""a\u0000b""#, #""\u0001\u001f\u007f""#, "\"raw\u{01}control\"", #""\ud800""#, #""\udc00x""#,
        #""\ud83d""#, #""""#, #"" ""#, "\"" + String(repeating: "x", count: 10_000) + "\"", #""💥🎉""#, #""\u202egnp.exe""#,
        #""' OR '1'='1' --""#, #""%00%ff""#, #""../../etc/passwd""#, #""<script>alert(1)</script>""#,
        "1e400", "-1e400", "1.5", "0.1", "1e20", "-1", "0", "-0", "2147483648", "-9223372036854775809", "9223372036854775808", "-9223372036854775808", "9223372036854775807",
        "-2147483649", "0.99999999999999999999",
        String(repeating: "9", count: 400), "1E-400", "true", "false", "null", "[]", "{}", #"["a"]"#, #"{"a":1}"#,
        String(repeating: "[", count: 60) + String(repeating: "]", count: 60), #""12.345""#, #""-5.00""#, #""1e3""#, #""NaN""#,
    ]

    /// Whole-body mutations of a valid body.
    static func mutations(of body: String) -> [[UInt8]] {
        let bytes = Array(body.utf8)
        let inner = body.dropFirst().dropLast()
        var out: [[UInt8]] = [
            Array((String(body.dropLast()) + ",}").utf8), Array(("{" + inner + "," + inner + "}").utf8), Array(body.dropLast().utf8),
            Array((body + body).utf8), Array((body + " x").utf8), [0xEF, 0xBB, 0xBF] + bytes, [], Array("null".utf8), Array("[]".utf8),
            Array("\"text\"".utf8), Array("42".utf8), Array((String(repeating: "[", count: 200) + body + String(repeating: "]", count: 200)).utf8),
            Array("{'a':1}".utf8), Array((body.replacingOccurrences(of: ":", with: ": /*c*/ ")).utf8),
        ]
        if bytes.count > 4 {
            var broken = bytes
            broken.insert(contentsOf: [0xC3, 0x28], at: bytes.count / 2)
            out.append(broken)
            var nul = bytes
            nul.insert(0, at: bytes.count / 2)
            out.append(nul)
        }
        return out
    }

    struct Route {
        var method: HTTPRequest.Method
        var path: String
        /// Field name → valid JSON value; the body is these as one object.
        var fields: [(String, String)]
        var token: String?
        var signed = false
        var body: String { "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}" }
    }

    @Test func noHostileValueGetsA5xxAndEveryRefusalIsAProblem() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let (customerID, customer) = try await h.customer()
            let product = try await h.product(admin: admin, stock: 1_000_000)
            let order = try #require(try await h.order(customer, product: product).object["id"] as? String)
            let routes = [
                Route(
                    method: .post, path: "/v1/users",
                    fields: [("email", #""fuzz@example.com""#), ("password", #""password-123""#), ("name", #""Fuzz""#), ("region", #""br""#)]),
                Route(method: .post, path: "/v1/sessions", fields: [("email", #""fuzz@example.com""#), ("password", #""password-123""#)]),
                Route(
                    method: .post, path: "/v1/products",
                    fields: [("sku", #""FUZZ-SKU""#), ("name", #""Fuzz""#), ("price", #""1.00""#), ("initial_stock", "5"), ("stock_shards", "2")],
                    token: admin),
                Route(method: .post, path: "/v1/products/\(product)/stock", fields: [("delta", "1")], token: admin),
                Route(
                    method: .post, path: "/v1/orders",
                    fields: [("items", #"[{"product_id":"\#(product)","quantity":1}]"#), ("user_id", "\"\(customerID)\""), ("region", #""br""#)],
                    token: admin),
                Route(method: .post, path: "/v1/orders", fields: [("items", #"[{"product_id":"\#(product)","quantity":1}]"#)], token: customer),
                Route(method: .post, path: "/v1/orders/\(order)/cancel", fields: [], token: customer),
                Route(method: .post, path: "/v1/orders/\(order)/ship", fields: [], token: admin),
                Route(
                    method: .post, path: "/v1/payments/webhook",
                    fields: [("payment_id", #""pay-fuzz""#), ("order_id", "\"\(order)\""), ("amount", #""10.00""#), ("status", #""failed""#)],
                    signed: true),
            ]
            var sent = 0
            var failures: [String] = []
            func send(_ route: Route, body: [UInt8], headers extra: HTTPFields = [:], label: String) async throws {
                var headers = extra
                headers[.contentType] = "application/json"
                if let token = route.token { headers[.authorization] = "Bearer \(token)" }
                if route.signed { headers[.intakeSignatureForTests] = h.webhook.header(for: body, at: Date()) }
                let response = try await h.client.executeRequest(uri: route.path, method: route.method, headers: headers, body: ByteBuffer(bytes: body))
                sent += 1
                if let failure = Self.check(response) { failures.append("\(route.method) \(route.path) \(label): \(failure)") }
            }
            for route in routes {
                // Each field replaced by each hostile value, and each hostile value added as
                // an unknown field and as a duplicate of the field.
                for (index, field) in route.fields.enumerated() {
                    for value in Self.values {
                        var fields = route.fields
                        fields[index].1 = value
                        try await send(route, body: Array(Route(method: route.method, path: route.path, fields: fields).body.utf8), label: "\(field.0)=\(value.prefix(40))")
                    }
                    try await send(route, body: Array((String(route.body.dropLast()) + ",\"\(field.0)\":\(field.1)}").utf8), label: "duplicate \(field.0)")
                    // The field nested inside an array of the value.
                    var nested = route.fields
                    nested[index].1 = "[\(field.1),]"
                    try await send(route, body: Array(Route(method: route.method, path: route.path, fields: nested).body.utf8), label: "\(field.0) trailing comma")
                }
                for (n, mutation) in Self.mutations(of: route.body).enumerated() {
                    try await send(route, body: mutation, label: "mutation \(n)")
                }
                for key in ["", " ", "\u{7f}", String(repeating: "k", count: 256), "ü", "tab\tkey"] {
                    var fields = HTTPFields()
                    if let name = HTTPField.Name("Idempotency-Key") { fields.append(HTTPField(name: name, value: key)) }
                    try await send(route, body: Array(route.body.utf8), headers: fields, label: "Idempotency-Key \(key.prefix(10))")
                }
            }
            // Paths and query parameters.
            let hostileSegments = ["%00", "%ff%fe", "..%2f..", String(repeating: "a", count: 2000), "1e400", "-1", "%F0%9F%92%A5", "null", "' OR 1=1"]
            for segment in hostileSegments {
                for path in [
                    "/v1/products/\(segment)", "/v1/orders/\(segment)", "/v1/users/\(segment)", "/v1/users/\(segment)/export",
                    "/v1/products?limit=\(segment)", "/v1/products?cursor=\(segment)", "/v1/orders?status=\(segment)",
                    "/v1/orders?limit=\(segment)&cursor=\(segment)", "/v1/products/\(segment)/stock",
                ] {
                    for method in [HTTPRequest.Method.get, .post, .delete] {
                        let response = try await h.client.executeRequest(
                            uri: path, method: method, headers: [.authorization: "Bearer \(admin)"], body: nil)
                        sent += 1
                        if let failure = Self.check(response) { failures.append("\(method) \(path.prefix(80)): \(failure)") }
                    }
                }
            }
            print("FUZZ hostile input: \(sent) requests, \(failures.count) failures")
            #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
            #expect(sent > 500)
        }
    }

    /// nil when the answer is acceptable: below 500, and a problem+json when it refuses.
    static func check(_ response: TestResponse) -> String? {
        let status = Int(response.status.code)
        let text = String(buffer: response.body)
        if status >= 500 { return "\(status) \(text.prefix(200))" }
        guard status >= 400 else { return nil }
        guard response.headers[.contentType] == "application/problem+json" else { return "\(status) without problem+json: \(text.prefix(200))" }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            (object["type"] as? String)?.hasPrefix("https://intake.dev/problems/") == true, object["title"] is String,
            object["status"] as? Int == status, object["detail"] is String
        else { return "\(status) with a malformed problem: \(text.prefix(200))" }
        return nil
    }
}
