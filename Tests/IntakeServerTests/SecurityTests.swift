import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntakeServer
import IntakeTestSupport
import Logging
import NIOCore
import Testing

@Suite("Security: hostile input over HTTP")
struct SecurityTests {
    static let hostile = [
        "Robert'); DROP TABLE users;--", "\"quoted\" \\ back\\slash", "ação 日本語 🎉 Ωmega", "%s %x {{x}} $1 ' OR '1'='1", "tab\there",
    ]

    @Test func sqlMetacharactersAndUnicodeAreStoredAndReturnedVerbatim() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            for (n, text) in Self.hostile.enumerated() {
                let json = { (value: Any) -> String in String(decoding: try! JSONSerialization.data(withJSONObject: value), as: UTF8.self) }
                let email = "hostile\(n)@example.com"
                let signUp = try await h.call(.post, "/v1/users", json: json(["email": email, "password": "password-123", "name": text, "region": text]))
                #expect(signUp.status == .created, "\(text): \(signUp.text)")
                #expect(signUp.object["name"] as? String == text)
                let token = try await h.signIn(email, "password-123")
                let id = try #require(signUp.object["id"] as? String)
                let me = try await h.call(.get, "/v1/users/\(id)", token: token)
                #expect(me.object["name"] as? String == text)
                #expect(me.object["region"] as? String == text)

                let product = try await h.call(
                    .post, "/v1/products", json: json(["sku": "\(text)-\(n)", "name": text, "price": "1.00", "initial_stock": 5]), token: admin)
                #expect(product.status == .created, "\(text): \(product.text)")
                let productID = try #require(product.object["id"] as? String)
                let shown = try await h.call(.get, "/v1/products/\(productID)")
                #expect(shown.object["sku"] as? String == "\(text)-\(n)")
                #expect(shown.object["name"] as? String == text)

                let order = try await h.call(
                    .post, "/v1/orders", json: json(["items": [["product_id": productID, "quantity": 1]], "region": text]), token: token)
                #expect(order.object["region"] as? String == text)
            }
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM users")[0].decode("n", as: Int.self) == Self.hostile.count + 1)
        }
    }

    @Test func noPlaintextEmailOrNameInAnyColumnAfterSignUps() async throws {
        try await withAPI { h in
            for n in 0..<3 {
                let response = try await h.call(
                    .post, "/v1/users", json: #"{"email":"Zelia.Quintanilha\#(n)@Example.org","password":"password-123","name":"Zélia Quintanilha \#(n)"}"#)
                #expect(response.status == .created)
            }
            #expect(try await columnsContaining("quintanilha", in: h.db).isEmpty)
            #expect(try await columnsContaining("Zélia", in: h.db).isEmpty)
        }
    }

    @Test func oversizedHeadersAreRefusedAndSlowClientsDoNotStallOthers() async throws {
        try await withAPI { h in
            try await h.live { port in
                func connected() -> Int32 {
                    let fd = LoopbackSocket.connect(port: port, timeout: 10)
                    #expect(fd >= 0)
                    return fd
                }
                // A 100 KiB header: refused with a 4xx before any route runs, or the
                // connection closed — never served.
                let big = connected()
                let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: \(String(repeating: "a", count: 100 << 10))\r\n\r\n"
                // Blocking socket calls, off the cooperative pool the server answers from.
                let (read, statusLine) = try await LoopbackSocket.offPool { () -> (Int, String) in
                    _ = request.withCString { send(big, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                    var buffer = [UInt8](repeating: 0, count: 64)
                    let read = recv(big, &buffer, buffer.count, 0)
                    return (read, read > 0 ? String(decoding: buffer[..<read], as: UTF8.self) : "")
                }
                #expect(read <= 0 || statusLine.hasPrefix("HTTP/1.1 4"), "\(statusLine)")
                close(big)

                // 100 clients that send half a request line and stop.
                let slow = (0..<100).map { _ in
                    let fd = connected()
                    _ = "GET /healthz HTTP/1.1\r\nHost: loc".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                    return fd
                }
                // Everyone else is still served, on connections of their own.
                for _ in 0..<20 {
                    var healthz = HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz")
                    healthz.method = .GET
                    let response = try await HTTPClient.shared.execute(healthz, timeout: .seconds(10))
                    #expect(response.status == .ok)
                    _ = try await response.body.collect(upTo: 1024)
                }
                slow.forEach { close($0) }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
