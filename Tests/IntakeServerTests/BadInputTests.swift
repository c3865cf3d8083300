import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import IntakeServer
import IntakeTestSupport
import Logging
import NIOCore
import Testing

/// Each kind of bad input the API must answer with a clear 4xx problem (API.md), with the
/// input that showed it and other members of its kind.
@Suite("Bad input: every kind a clear 4xx")
struct BadInputTests {
    // MARK: 1. Passwords are compared whole

    @Test func everyCharacterOfAPasswordCounts() async throws {
        try await withAPI { h in
            let long = String(repeating: "a", count: 72)
            #expect(try await h.call(.post, "/v1/users", json: #"{"email":"long@example.com","password":"\#(long)-tail-one"}"#).status == .created)
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"long@example.com","password":"\#(long)-tail-two"}"#).status == .unauthorized)
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"long@example.com","password":"\#(long)"}"#).status == .unauthorized)
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"long@example.com","password":"\#(long)-tail-one"}"#).status == .created)

            // 128 characters of multi-byte text (384 bytes): the last one still counts.
            let wide = String(repeating: "日", count: 127)
            #expect(try await h.call(.post, "/v1/users", json: #"{"email":"wide@example.com","password":"\#(wide)本"}"#).status == .created)
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"wide@example.com","password":"\#(wide)日"}"#).status == .unauthorized)
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"wide@example.com","password":"\#(wide)本"}"#).status == .created)

            // A NUL never ends a password: refused where it would be stored, never accepted.
            let nul = try await h.call(.post, "/v1/users", json: #"{"email":"nul@example.com","password":"\u0000password-123"}"#)
            #expect(nul.status == .unprocessableContent)
            #expect(nul.text.contains("password"))
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"nul@example.com","password":""}"#).status == .unauthorized)
            #expect(try await h.call(.post, "/v1/users", json: #"{"email":"nul2@example.com","password":"password-123"}"#).status == .created)
            let withNul = try await h.call(.post, "/v1/sessions", json: #"{"email":"nul2@example.com","password":"password-123\u0000tail"}"#)
            #expect((400..<500).contains(withNul.status.code) && withNul.status != .created, "\(withNul.text)")
        }
    }

    @Test func legacyBcryptHashesStillSignInAndAreUpgradedOnSignIn() async throws {
        try await withAPI { h in
            let user = try await h.api.users.create(
                email: "legacy@example.com", passwordHash: Bcrypt.hash("password-123", cost: 4), name: nil, region: nil, role: .customer)
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"legacy@example.com","password":"wrong-password"}"#).status == .unauthorized)
            _ = try await h.signIn("legacy@example.com", "password-123")
            let stored = try await h.db.query("SELECT password_hash FROM users WHERE id = $1", [.uuid(user.id)])[0].decode("password_hash", as: String.self)
            #expect(stored.hasPrefix("v2:"), "upgraded after a successful sign-in")
            _ = try await h.signIn("legacy@example.com", "password-123")
            #expect(try await h.call(.post, "/v1/sessions", json: #"{"email":"legacy@example.com","password":"password-1234"}"#).status == .unauthorized)
        }
    }

    // MARK: 2. Oversized bodies, however they arrive

    @Test func oversizedBodiesAre413WithOrWithoutContentLength() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            try await h.live { port in
                let big = #"{"email":"big@example.com","password":"password-123","name":""# + String(repeating: "x", count: 1_100_000) + #""}"#
                for path in ["/v1/users", "/v1/sessions", "/v1/products", "/v1/orders", "/v1/payments/webhook", "/v1/orders/\(UUID())/cancel", "/healthz"] {
                    for chunked in [true, false] {
                        let answer = try await RawHTTP.send(
                            port: port, method: "POST", path: path, headers: ["Authorization: Bearer \(admin)"], body: Array(big.utf8), chunked: chunked)
                        let what = "\(path) chunked=\(chunked)"
                        #expect(answer.status == 413, "\(what): \(answer.head)")
                        #expect(answer.head.lowercased().contains("content-type: application/problem+json"), "\(what)")
                        #expect(answer.head.lowercased().contains("x-request-id:"), "\(what)")
                        #expect(answer.body.contains("payload-too-large"), "\(what): \(answer.body)")
                    }
                }
            }
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM users")[0].decode("n", as: Int.self) == 1, "only the admin")
        }
    }

    @Test func requestsTheParserRefusesAreProblemsWithARequestID() async throws {
        try await withAPI { h in
            try await h.live { port in
                for headers in [["X-Padding: " + String(repeating: "a", count: 20 << 10)], (0..<120).map { "X-H\($0): v" }] {
                    let answer = try await RawHTTP.send(port: port, method: "GET", path: "/healthz", headers: headers, body: [], chunked: false)
                    #expect(answer.status == 431, "\(answer.head)")
                    #expect(answer.head.lowercased().contains("content-type: application/problem+json"))
                    #expect(answer.head.lowercased().contains("x-request-id:"))
                    #expect(answer.body.contains("request-header-fields-too-large"), "\(answer.body)")
                }
                let broken = try await RawHTTP.send(
                    port: port, method: "POST", path: "/v1/users", headers: ["Transfer-Encoding: chunked"], body: Array("zz\r\nnot hex\r\n".utf8),
                    chunked: false, rawBody: true)
                #expect(broken.status == 400, "\(broken.head)")
                #expect(broken.head.lowercased().contains("content-type: application/problem+json"))
                // A transfer coding it does not implement is refused, not read as plain bytes.
                let json = #"{"email":"te@example.com","password":"password-123","name":"T"}"#
                let gzipChunked = try await RawHTTP.send(
                    port: port, method: "POST", path: "/v1/users", headers: ["Transfer-Encoding: gzip, chunked"],
                    body: Array((String(json.utf8.count, radix: 16) + "\r\n" + json + "\r\n0\r\n\r\n").utf8), chunked: false, rawBody: true)
                #expect(gzipChunked.status == 400, "\(gzipChunked.head)")
                #expect(gzipChunked.head.lowercased().contains("content-type: application/problem+json"))
                #expect(gzipChunked.body.contains("malformed-request"), "\(gzipChunked.body)")
                // The coding split over two header lines is refused too (or the parser refuses it first).
                let split = try await RawHTTP.send(
                    port: port, method: "POST", path: "/v1/users", headers: ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
                    body: Array((String(json.utf8.count, radix: 16) + "\r\n" + json + "\r\n0\r\n\r\n").utf8), chunked: false, rawBody: true)
                #expect(split.status == 400, "\(split.head)")
                // A control character in an Idempotency-Key (the parser refuses it before any
                // route) is the contract's `invalid-idempotency-key` (hostile review, session
                // 13: it was `malformed-request`); in another header it stays malformed.
                for control in ["\u{0}", "\u{1}", "\u{7F}"] {
                    let key = try await RawHTTP.send(
                        port: port, method: "POST", path: "/v1/orders", headers: ["idempotency-KEY: ab\(control)cd"], body: Array("{}".utf8), chunked: false)
                    #expect(key.status == 400, "\(key.head)")
                    #expect(key.body.contains("invalid-idempotency-key"), "\(key.body)")
                    let other = try await RawHTTP.send(
                        port: port, method: "GET", path: "/healthz", headers: ["X-Other: ab\(control)cd", "Idempotency-Key: fine"], body: [], chunked: false)
                    #expect(other.status == 400, "\(other.head)")
                    #expect(other.body.contains("malformed-request"), "\(other.body)")
                }
                // The server still answers.
                let after = try await RawHTTP.send(port: port, method: "GET", path: "/healthz", headers: [], body: [], chunked: false)
                #expect(after.status == 200, "\(after.head)")
            }
        }
    }

    // MARK: 2b. Lengths count Unicode scalars

    /// One "character" (a grapheme cluster) can carry thousands of combining marks: counted
    /// as one, a 2,801-byte SKU passed the 100-character rule and failed the unique index's
    /// size limit with a 500. Lengths count Unicode scalars, as openapi.yaml's maxLength does.
    @Test func combiningMarksCountTowardEveryLengthLimit() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let (_, customer) = try await h.customer()
            let order = try #require(try await h.order(customer, product: product).object["id"] as? String)
            let padded = "S" + String(repeating: "\u{0301}", count: 1400)  // one grapheme, 1,401 scalars, 2,801 bytes
            let cases: [(String, String, String?, String)] = [
                ("/v1/products", #"{"sku":"\#(padded)","name":"n","price":"1.00","initial_stock":1}"#, admin, "sku"),
                ("/v1/products", #"{"sku":"P-1","name":"\#(padded)","price":"1.00","initial_stock":1}"#, admin, "name"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}],"region":"\#(padded)"}"#, customer, "region"),
                ("/v1/users", #"{"email":"e\#(padded)@example.com","password":"password-123"}"#, nil, "email"),
                ("/v1/users", #"{"email":"pad@example.com","password":"password-123","name":"\#(padded)"}"#, nil, "name"),
            ]
            for (path, body, token, field) in cases {
                let response = try await h.call(.post, path, json: body, token: token)
                #expect(response.status == .unprocessableContent, "\(path) \(field): \(response.status)")
                #expect((response.object["detail"] as? String)?.hasPrefix(field) == true, "\(response.text.prefix(200))")
            }
            let paid = try await h.pay(order: order, amount: "10.00", paymentID: padded)
            #expect(paid.status == .unprocessableContent, "\(paid.status)")
            #expect((paid.object["detail"] as? String)?.hasPrefix("payment_id") == true, "\(paid.text.prefix(200))")
            // At the limit it is still one: 100 scalars of a precomposed letter.
            let full = String(repeating: "é", count: 100)
            #expect(try await h.call(.post, "/v1/products", json: #"{"sku":"\#(full)","name":"n","price":"1.00","initial_stock":1}"#, token: admin).status == .created)
        }
    }

    // MARK: 3. U+0000 in text

    @Test func nulInAnyTextFieldIs422NamingTheFieldAndStoresNothing() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let (_, customer) = try await h.customer()
            let order = try #require(try await h.order(customer, product: product).object["id"] as? String)
            let cases: [(String, String, String?, String)] = [
                ("/v1/products", #"{"sku":"NUL-1","name":"Nul\u0000byte","price":"1.00","initial_stock":1}"#, admin, "name"),
                ("/v1/products", #"{"sku":"NUL\u0000","name":"Nul","price":"1.00","initial_stock":1}"#, admin, "sku"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}],"region":"sa-east\u0000"}"#, customer, "region"),
                ("/v1/users", #"{"email":"nul\u0000l@example.com","password":"password-123"}"#, nil, "email"),
                ("/v1/users", #"{"email":"named@example.com","password":"password-123","name":"A\u0000B"}"#, nil, "name"),
                ("/v1/users", #"{"email":"region@example.com","password":"password-123","region":"\u0000"}"#, nil, "region"),
                ("/v1/sessions", #"{"email":"x\u0000@example.com","password":"password-123"}"#, nil, "email"),
            ]
            for (path, body, token, field) in cases {
                let response = try await h.call(.post, path, json: body, token: token)
                #expect(response.status == .unprocessableContent, "\(path) \(field): \(response.text)")
                #expect(response.problem == "validation")
                #expect((response.object["detail"] as? String)?.hasPrefix(field) == true, "\(response.text)")
            }
            let paid = try await h.pay(order: order, amount: "10.00", paymentID: #"pay\u0000ment"#)
            #expect(paid.status == .unprocessableContent, "\(paid.text)")
            #expect((paid.object["detail"] as? String)?.hasPrefix("payment_id") == true, "\(paid.text)")
            // A control character that Postgres can hold is still text.
            #expect(try await h.call(.post, "/v1/users", json: #"{"email":"bell@example.com","password":"password-123","name":"bell\u0007"}"#).status == .created)
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM products")[0].decode("n", as: Int.self) == 1)
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM orders")[0].decode("n", as: Int.self) == 1)
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM payments")[0].decode("n", as: Int.self) == 0)
        }
    }

    // MARK: 4. Numbers that break a rule

    @Test func numberErrorsAre422NamingTheField() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let cases: [(String, String, String)] = [
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1.5}]}"#, "items[0].quantity"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1e400}]}"#, "items[0].quantity"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":-12345678901234567890123}]}"#, "items[0].quantity"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":"1"}]}"#, "items[0].quantity"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1001}]}"#, "items[0].quantity"),
                ("/v1/products/\(product)/stock", #"{"delta":1.5}"#, "delta"),
                ("/v1/products/\(product)/stock", #"{"delta":1e19}"#, "delta"),
                ("/v1/products", #"{"sku":"N-1","name":"n","price":"1.00","initial_stock":1e20}"#, "initial_stock"),
                ("/v1/products", #"{"sku":"N-2","name":"n","price":"1.00","initial_stock":5000000000}"#, "initial_stock"),
                ("/v1/products", #"{"sku":"N-3","name":"n","price":"1.00","initial_stock":1,"stock_shards":2.5}"#, "stock_shards"),
                ("/v1/products", #"{"sku":"N-4","name":"n","price":1.5,"initial_stock":1}"#, "price"),
                ("/v1/products", #"{"sku":"N-5","name":"n","price":"1.001","initial_stock":1}"#, "price"),
                // Fractions a Double would round to a whole number.
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":0.99999999999999999999}]}"#, "items[0].quantity"),
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1000.00000000000001}]}"#, "items[0].quantity"),
                ("/v1/products", #"{"sku":"N-6","name":"n","price":"1.00","initial_stock":4.9999999999999999}"#, "initial_stock"),
                ("/v1/products/\(product)/stock", #"{"delta":-0.9999999999999999999}"#, "delta"),
            ]
            for (path, body, field) in cases {
                let response = try await h.call(.post, path, json: body, token: admin)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.problem == "validation", "\(body)")
                #expect((response.object["detail"] as? String)?.hasPrefix(field) == true, "\(body): \(response.text)")
            }
            // A whole number too large for an integer is said to be out of range, not "not a
            // whole number"; a fraction is not a whole number.
            for (body, detail) in [
                (#"{"items":[{"product_id":"\#(product)","quantity":9223372036854775808}]}"#, "items[0].quantity: is out of range"),
                (#"{"items":[{"product_id":"\#(product)","quantity":1.5}]}"#, "items[0].quantity: must be a whole number"),
            ] {
                let response = try await h.call(.post, "/v1/orders", json: body, token: admin)
                #expect(response.object["detail"] as? String == detail, "\(body): \(response.text)")
            }
            // A value of the wrong type is named as the integer its field is, not "an object".
            let wrongTypes: [(String, String, String)] = [
                ("/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":true}]}"#, "items[0].quantity"),
                ("/v1/products/\(product)/stock", #"{"delta":"5"}"#, "delta"),
                ("/v1/products", #"{"sku":"T-1","name":"n","price":"1.00","initial_stock":"10"}"#, "initial_stock"),
                ("/v1/products", #"{"sku":"T-2","name":"n","price":"1.00","initial_stock":{}}"#, "initial_stock"),
            ]
            for (path, body, field) in wrongTypes {
                let response = try await h.call(.post, path, json: body, token: admin)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.object["detail"] as? String == "\(field): must be an integer", "\(body): \(response.text)")
            }
            // A restock that would take a shard past its 32-bit count names the delta.
            let full = try await h.call(
                .post, "/v1/products", json: #"{"sku":"FULL","name":"n","price":"1.00","initial_stock":2100000000,"stock_shards":1}"#, token: admin)
            let fullID = try #require(full.object["id"] as? String)
            let overflow = try await h.call(.post, "/v1/products/\(fullID)/stock", json: #"{"delta":100000000}"#, token: admin)
            #expect(overflow.status == .unprocessableContent, "\(overflow.text)")
            #expect((overflow.object["detail"] as? String)?.hasPrefix("delta") == true, "\(overflow.text)")
            #expect(try await h.call(.get, "/v1/products/\(fullID)").object["available"] as? Int == 2_100_000_000)
            // Reserved units count too: a restock may not leave less room than the reservations
            // whose cancel returns them (the cancel would overflow and the order be stuck).
            let edge = try await h.call(
                .post, "/v1/products", json: #"{"sku":"EDGE","name":"n","price":"1.00","initial_stock":2147483000,"stock_shards":1}"#, token: admin)
            let edgeID = try #require(edge.object["id"] as? String)
            let held = try await h.call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(edgeID)","quantity":1000}]}"#, token: admin)
            let heldID = try #require(held.object["id"] as? String)
            let tooMuch = try await h.call(.post, "/v1/products/\(edgeID)/stock", json: #"{"delta":1000}"#, token: admin)
            #expect(tooMuch.status == .unprocessableContent && (tooMuch.object["detail"] as? String)?.hasPrefix("delta") == true, "\(tooMuch.text)")
            #expect(try await h.call(.post, "/v1/products/\(edgeID)/stock", json: #"{"delta":647}"#, token: admin).status == .ok)
            let canceled = try await h.call(.post, "/v1/orders/\(heldID)/cancel", token: admin)
            #expect(canceled.status == .ok, "\(canceled.text)")
            #expect(try await h.call(.get, "/v1/products/\(edgeID)").object["available"] as? Int == 2_147_483_647)
            // 1.0 and 1e0 are the integer one.
            #expect(try await h.call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":1.0}]}"#, token: admin).status == .created)
            #expect(try await h.call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":1e0}]}"#, token: admin).status == .created)
            #expect(try await h.call(.get, "/v1/products/\(product)").object["available"] as? Int == 8, "nothing else moved stock")
        }
    }

    // MARK: 5. Only RFC 8259 JSON

    @Test func onlyStandardJSONIsAcceptedAndNothingIsCreatedFromTheRest() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let item = #"{"product_id":"\#(product)","quantity":1}"#
            let malformed = [
                #"{"items":[{"product_id":"\#(product)","quantity":1,},],}"#,
                #"{"items":[\#(item),]}"#,
                #"{"items":[\#(item)],}"#,
                #"{"items":[{"product_id":"\#(product)","quantity":1,"quantity":3}]}"#,
                #"{"items":[{"product_id":"\#(product)","quantity":1,"quantit\u0079":3}]}"#,
                #"{"items":[\#(item)],"items":[]}"#,
                #"{'items':[\#(item)]}"#,
                #"{"items":[\#(item)]} // comment"#,
                #"{"items":[{"product_id":"\#(product)","quantity":01}]}"#,
                #"{"items":[{"product_id":"\#(product)","quantity":NaN}]}"#,
                #"{"items":[\#(item)],"region":"\ud800"}"#,
                #"{"items":[\#(item)],"region":"\udc00\ud800"}"#,
                #"{"items":[\#(item)],"region":"tab"# + "\t" + #"raw"}"#,
                #"{"items":[\#(item)]}{}"#,
                "",
                "   ",
            ]
            for body in malformed {
                let response = try await h.call(.post, "/v1/orders", json: body, token: admin)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(response.problem == "malformed-json", "\(body)")
            }
            for bytes in [[UInt8]](arrayLiteral: [0xEF, 0xBB, 0xBF] + Array("{}".utf8), Array(#"{"region":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) {
                let response = try await h.client.executeRequest(
                    uri: "/v1/orders", method: .post, headers: [.authorization: "Bearer \(admin)"], body: ByteBuffer(bytes: bytes))
                #expect(response.status == .badRequest, "\(bytes): \(String(buffer: response.body))")
            }
            let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            let nested = try await h.call(.post, "/v1/orders", json: #"{"items":[\#(item)],"region":\#(deep)}"#, token: admin)
            #expect((400..<500).contains(nested.status.code), "\(nested.text)")
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM orders")[0].decode("n", as: Int.self) == 0)
            // Escapes and every kind of whitespace are still fine.
            let escaped = #"{ "items" : [ {"product_id":"\#(product)", "quantity":1} ] ,"region":"s\u00e3o \"paulo\" \ud83c\udf89" }"#
            let created = try await h.call(.post, "/v1/orders", json: "\n\t" + escaped + "\r\n", token: admin)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.object["region"] as? String == "são \"paulo\" 🎉")
        }
    }

    // MARK: 6. Order idempotency keys belong to the caller

    @Test func orderIdempotencyKeysAreScopedToTheCallerNotTheOwner() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 100)
            let (a, aToken) = try await h.customer()
            let (b, _) = try await h.customer()
            func order(_ token: String, for user: String?, quantity: Int, key: String) async throws -> TestResponse {
                let owner = user.map { #","user_id":"\#($0)""# } ?? ""
                return try await h.call(
                    .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":\#(quantity)}]\#(owner)}"#, token: token,
                    headers: [.idempotencyKey: key])
            }
            // The admin's K for A does not take A's own K.
            let forA = try await order(admin, for: a, quantity: 1, key: "K")
            #expect(forA.status == .created)
            let own = try await order(aToken, for: nil, quantity: 2, key: "K")
            #expect(own.status == .created, "\(own.text)")
            #expect(own.object["id"] as? String != forA.object["id"] as? String)
            #expect(own.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            // The admin's K5 used for B with another body is a reuse, not a second order.
            #expect(try await order(admin, for: b, quantity: 1, key: "K5").status == .created)
            let reused = try await order(admin, for: b, quantity: 3, key: "K5")
            #expect(reused.status == .unprocessableContent, "\(reused.text)")
            #expect(reused.problem == "idempotency-key-reused")
            // The admin sending A's body and A's key gets an order of the admin's own making,
            // not A's replayed.
            let sameAsA = try await order(admin, for: nil, quantity: 2, key: "K-own")
            let aAgain = try await order(aToken, for: nil, quantity: 2, key: "K-own")
            #expect(sameAsA.status == .created && aAgain.status == .created)
            #expect(sameAsA.object["id"] as? String != aAgain.object["id"] as? String)
            #expect(aAgain.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            // And a true replay still replays.
            let replay = try await order(aToken, for: nil, quantity: 2, key: "K")
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replay.object["id"] as? String == own.object["id"] as? String)
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM orders")[0].decode("n", as: Int.self) == 5)
        }
    }

    @Test func anOrderForSomeoneElseNamesALiveUserAndOneKeyHeaderOnly() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let (erased, erasedToken) = try await h.customer()
            #expect(try await h.call(.delete, "/v1/users/\(erased)", token: erasedToken).status == .noContent)
            for user in [UUID().uuidString.lowercased(), erased] {
                let response = try await h.call(
                    .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":1}],"user_id":"\#(user)"}"#, token: admin)
                #expect(response.status == .unprocessableContent, "\(response.text)")
                #expect((response.object["detail"] as? String)?.hasPrefix("user_id") == true, "\(response.text)")
            }
            #expect(try await h.call(.get, "/v1/products/\(product)").object["available"] as? Int == 10)
            // Two Idempotency-Key headers would be read as one key "a, b".
            var twoKeys = HTTPFields()
            twoKeys.append(HTTPField(name: .idempotencyKey, value: "a"))
            twoKeys.append(HTTPField(name: .idempotencyKey, value: "b"))
            let doubled = try await h.call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":1}]}"#, token: admin, headers: twoKeys)
            #expect(doubled.status == .badRequest, "\(doubled.text)")
            #expect(doubled.problem == "invalid-idempotency-key")
            // A bad webhook status names the field in plain words.
            let status = try await h.call(
                .post, "/v1/payments/webhook", json: #"{"payment_id":"p","order_id":"\#(UUID())","amount":"1.00","status":"refunded"}"#,
                headers: [.intakeSignatureForTests: h.webhook.header(
                    for: Array(#"{"payment_id":"p","order_id":"\#(UUID())","amount":"1.00","status":"refunded"}"#.utf8), at: Date())])
            #expect(status.status == .unauthorized || status.status == .unprocessableContent)
        }
    }

    @Test func emailsMustLookLikeAddresses() async throws {
        try await withAPI { h in
            for email in [
                "a@ex..com", ".a@ex.com", "a.@ex.com", "a..b@ex.com", "a@-ex.com", "a@ex-.com", "a@[127.0.0.1]", "<a@ex.com>", "a b@ex.com",
                "e\u{202E}moc.x@ex.com", "a@", "@ex.com", "a@@ex.com", String(repeating: "l", count: 65) + "@ex.com", "a\u{7}@ex.com",
            ] {
                let body = String(decoding: try JSONSerialization.data(withJSONObject: ["email": email, "password": "password-123"]), as: UTF8.self)
                let response = try await h.call(.post, "/v1/users", json: body)
                #expect(response.status == .unprocessableContent, "\(email): \(response.text)")
                #expect((response.object["detail"] as? String)?.hasPrefix("email") == true, "\(email)")
            }
            for email in ["first.last+tag@example.com", "josé@exámple.com.br", "x@localhost", "o'brien@ex.co", String(repeating: "l", count: 64) + "@ex.com"] {
                let body = String(decoding: try JSONSerialization.data(withJSONObject: ["email": email, "password": "password-123"]), as: UTF8.self)
                #expect(try await h.call(.post, "/v1/users", json: body).status == .created, "\(email)")
            }
        }
    }

    // MARK: 7. Replays compare JSON values

    @Test func replaysOfOtherPostsCompareJSONValuesAndResourcesNotBytes() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let first = try await h.call(.post, "/v1/products/\(product)/stock", json: #"{"delta":5}"#, token: admin, headers: [.idempotencyKey: "K3"])
            #expect(first.status == .ok)
            for (path, body) in [
                ("/v1/products/\(product)/stock", #"{ "delta": 5 }"#), ("/v1/products/\(product.uppercased())/stock", "{\"delta\":\n5}"),
            ] {
                let replay = try await h.call(.post, path, json: body, token: admin, headers: [.idempotencyKey: "K3"])
                #expect(replay.status == .ok, "\(body): \(replay.text)")
                #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                #expect(replay.text == first.text)
            }
            let other = try await h.call(.post, "/v1/products/\(product)/stock", json: #"{"delta":6}"#, token: admin, headers: [.idempotencyKey: "K3"])
            #expect(other.problem == "idempotency-key-reused")
            let sku = "SKU-\(UUID().uuidString.prefix(6))"
            let created = try await h.call(
                .post, "/v1/products", json: #"{"sku":"\#(sku)","name":"n","price":"1.5","initial_stock":1}"#, token: admin, headers: [.idempotencyKey: "P1"])
            let again = try await h.call(
                .post, "/v1/products", json: #"{"initial_stock":1, "price":"1.5", "name":"n", "sku":"\#(sku)"}"#, token: admin, headers: [.idempotencyKey: "P1"])
            #expect(created.status == .created)
            #expect(again.status == .created, "\(again.text)")
            #expect(again.text == created.text)
            let stock = try await h.call(.get, "/v1/products/\(product)")
            #expect(stock.object["available"] as? Int == 15, "the stock moved once")
        }
    }

    // MARK: 8. Emails in normal form C

    @Test func anAccentPrecomposedOrDecomposedIsOneEmail() async throws {
        try await withAPI { h in
            let composed = "jos\u{E9}@example.com"
            let decomposed = "jose\u{301}@example.com"
            let json = { (email: String) in String(decoding: try! JSONSerialization.data(withJSONObject: ["email": email, "password": "password-123"]), as: UTF8.self) }
            #expect(try await h.call(.post, "/v1/users", json: json(composed)).status == .created)
            let twice = try await h.call(.post, "/v1/users", json: json(decomposed.uppercased()))
            #expect(twice.status == .conflict, "\(twice.text)")
            #expect(twice.problem == "email-taken")
            #expect(try await h.call(.post, "/v1/sessions", json: json(decomposed)).status == .created)
        }
    }
}

/// One HTTP/1.1 exchange over a plain socket, for what an HTTP client library will not send
/// (chunked bodies of a chosen size, raw bytes).
enum RawHTTP {
    struct Answer {
        var status: Int
        var head: String
        var body: String
    }

    struct NotConnected: Error {}

    /// `rawBody`: the body goes on the wire as given, with no framing header of its own.
    /// The socket calls block, so they run off the cooperative pool.
    static func send(port: Int, method: String, path: String, headers: [String], body: [UInt8], chunked: Bool, rawBody: Bool = false)
        async throws -> Answer
    {
        try await LoopbackSocket.offPool {
            try exchange(port: port, method: method, path: path, headers: headers, body: body, chunked: chunked, rawBody: rawBody)
        }
    }

    private static func exchange(port: Int, method: String, path: String, headers: [String], body: [UInt8], chunked: Bool, rawBody: Bool) throws -> Answer {
        let fd = LoopbackSocket.connect(port: port)
        guard fd >= 0 else { throw NotConnected() }
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        for header in headers { head += header + "\r\n" }
        head += rawBody ? "\r\n" : chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: \(body.count)\r\n\r\n"
        var wire = Array(head.utf8)
        if chunked {
            var offset = 0
            while offset < body.count {
                let piece = body[offset..<min(offset + 16_384, body.count)]
                wire += Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]
                offset += piece.count
            }
            wire += Array("0\r\n\r\n".utf8)
        } else {
            wire += body
        }
        // The server may answer and close before the whole body is sent: stop sending then.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var sent = 0
        // Send while watching for an early answer (a 413 before the whole body), which must be
        // read before the server's close can reset the connection.
        while sent < wire.count {
            var events = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
            guard poll(&events, 1, 60_000) > 0 else { break }
            if events.revents & Int16(POLLIN) != 0 { break }
            let n = wire[sent..<min(sent + 16_384, wire.count)].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0, errno == EAGAIN { continue }
            if n <= 0 { break }
            sent += n
        }
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[..<n]
            if let text = String(validating: received, as: UTF8.self), let end = text.range(of: "\r\n\r\n") {
                let headText = String(text[..<end.lowerBound]).lowercased()
                if let line = headText.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                    text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length
                {
                    break
                }
            }
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let status = parts.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Answer(status: status, head: parts.first ?? "", body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
