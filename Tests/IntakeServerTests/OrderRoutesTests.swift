import Foundation
import HTTPTypes
import HummingbirdTesting
import IntakeRuntime
import IntakeTestSupport
import Testing

@Suite("Orders over HTTP")
struct OrderRoutesTests {
    @Test func createReadAndTheOrderShape() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10, price: "2.50")
            let (me, token) = try await h.customer()
            let created = try await h.order(token, product: product, quantity: 3)
            #expect(created.status == .created)
            let order = created.object
            #expect(Set(order.keys) == ["id", "user_id", "status", "amount", "items", "region", "created_at", "updated_at", "expires_at"])
            #expect(order["status"] as? String == "PENDING")
            #expect(order["amount"] as? String == "7.50")
            #expect(order["user_id"] as? String == me)
            let items = order["items"] as? [[String: Any]]
            #expect(items?.first?["unit_price"] as? String == "2.50")
            #expect(items?.first?["quantity"] as? Int == 3)
            let id = try #require(order["id"] as? String)
            let read = try await h.call(.get, "/v1/orders/\(id)", token: token)
            #expect(read.status == .ok)
            #expect(read.text == created.text, "the same shape everywhere")
            let stock = try await h.call(.get, "/v1/products/\(product)")
            #expect(stock.object["available"] as? Int == 7)
            #expect(stock.object["reserved"] as? Int == 3)
            let mine = try await h.call(.get, "/v1/orders?status=PENDING", token: token)
            #expect((mine.object["items"] as? [[String: Any]])?.count == 1)
        }
    }

    /// Whatever order the request lists its items in, the 201, a replay of its idempotency
    /// key, a GET and the list give the same body, items in product-id order (the order as
    /// created and as read back from its rows list them alike).
    @Test func aMultiItemOrderReadsTheSameEverywhere() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let products = [try await h.product(admin: admin, stock: 10), try await h.product(admin: admin, stock: 10),
                            try await h.product(admin: admin, stock: 10)].sorted(by: >)
            let (_, token) = try await h.customer()
            let body = #"{"items":[\#(products.enumerated().map { #"{"product_id":"\#($1)","quantity":\#($0 + 1)}"# }.joined(separator: ","))]}"#
            let headers: HTTPFields = [.init("Idempotency-Key")!: "multi-item-order"]
            let created = try await h.call(.post, "/v1/orders", json: body, token: token, headers: headers)
            #expect(created.status == .created)
            let replay = try await h.call(.post, "/v1/orders", json: body, token: token, headers: headers)
            #expect(replay.text == created.text, "the replay answers as the first time")
            let id = try #require(created.object["id"] as? String)
            let read = try await h.call(.get, "/v1/orders/\(id)", token: token)
            #expect(read.text == created.text)
            let listed = try await h.call(.get, "/v1/orders", token: token)
            let first = try #require((listed.object["items"] as? [[String: Any]])?.first)
            #expect((first["items"] as? [[String: Any]])?.compactMap { $0["product_id"] as? String } == products.sorted())
        }
    }

    @Test func customersSeeOnlyTheirOwnOrdersAndCannotActAsOthers() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10)
            let (_, alice) = try await h.customer()
            let (bob, bobToken) = try await h.customer()
            let order = try #require(try await h.order(alice, product: product).object["id"] as? String)
            #expect(try await h.call(.get, "/v1/orders/\(order)", token: bobToken).status == .notFound)
            #expect(try await h.call(.post, "/v1/orders/\(order)/cancel", token: bobToken).status == .notFound)
            #expect((try await h.call(.get, "/v1/orders", token: bobToken).object["items"] as? [Any])?.isEmpty == true)
            let onBehalf = try await h.call(
                .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":1}],"user_id":"\#(UUID())"}"#, token: bobToken)
            #expect(onBehalf.status == .forbidden)
            let own = try await h.call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":1}],"user_id":"\#(bob)"}"#, token: bobToken)
            #expect(own.status == .created)
            #expect(try await h.call(.post, "/v1/orders/\(order)/ship", token: bobToken).status == .forbidden)
            #expect(try await h.call(.get, "/v1/orders").status == .unauthorized)
        }
    }

    @Test func lifecycleCancelShipDeliverAndInvalidTransitions() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10, price: "5.00")
            let (_, token) = try await h.customer()
            let first = try #require(try await h.order(token, product: product, quantity: 2).object["id"] as? String)
            let canceled = try await h.call(.post, "/v1/orders/\(first)/cancel", token: token)
            #expect(canceled.object["status"] as? String == "CANCELED")
            let again = try await h.call(.post, "/v1/orders/\(first)/cancel", token: token)
            #expect(again.status == .conflict)
            #expect(again.problem == "invalid-transition")

            let second = try #require(try await h.order(token, product: product, quantity: 2).object["id"] as? String)
            #expect(try await h.call(.post, "/v1/orders/\(second)/ship", token: admin).problem == "invalid-transition")
            #expect(try await h.pay(order: second, amount: "10.00").status == .ok)
            let customerCancel = try await h.call(.post, "/v1/orders/\(second)/cancel", token: token)
            #expect(customerCancel.status == .forbidden)
            #expect(try await h.call(.post, "/v1/orders/\(second)/ship", token: admin).object["status"] as? String == "SHIPPED")
            #expect(try await h.call(.post, "/v1/orders/\(second)/deliver", token: admin).object["status"] as? String == "DELIVERED")
            let stock = try await h.call(.get, "/v1/products/\(product)")
            #expect(stock.object["available"] as? Int == 8)
            #expect(stock.object["reserved"] as? Int == 0)
        }
    }

    @Test func shortagesAndUnknownProductsReserveNothing() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let plenty = try await h.product(admin: admin, stock: 10)
            let scarce = try await h.product(admin: admin, stock: 1)
            let (_, token) = try await h.customer()
            let short = try await h.call(
                .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(plenty)","quantity":2},{"product_id":"\#(scarce)","quantity":2}]}"#, token: token)
            #expect(short.status == .conflict)
            #expect(short.problem == "insufficient-stock")
            #expect((short.object["detail"] as? String)?.contains(scarce) == true)
            #expect(try await h.call(.get, "/v1/products/\(plenty)").object["available"] as? Int == 10)
            let unknown = try await h.order(token, product: UUID().uuidString.lowercased())
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.problem == "unknown-product")
            for body in [#"{"items":[]}"#, #"{"items":[{"product_id":"\#(plenty)","quantity":0}]}"#, #"{"items":[{"product_id":"x","quantity":1}]}"#, #"{}"#] {
                #expect(try await h.call(.post, "/v1/orders", json: body, token: token).status == .unprocessableContent, "\(body)")
            }
            // Ids a lenient parser reads as some other id (a leading space, sign or 0x taking
            // the place of the first digit) are not ids at all.
            for id in [" " + plenty.dropFirst(), "+" + plenty.dropFirst(), "0x" + plenty.dropFirst(2)] {
                let refused = try await h.call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(id)","quantity":1}]}"#, token: token)
                #expect(refused.status == .unprocessableContent && refused.problem == "validation", "\(id): \(refused.status) \(refused.problem ?? "")")
            }
        }
    }

    @Test func idempotencyReplaysRefusesOtherBodiesAndRejectsBadKeys() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 3)
            let (_, token) = try await h.customer()
            let key: HTTPFields = [.idempotencyKey: "order-1"]
            let first = try await h.order(token, product: product, quantity: 3, headers: key)
            #expect(first.status == .created)
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            // The same JSON value, formatted differently, after the stock ran out: a replay.
            let product2 = product
            let replay = try await h.call(
                .post, "/v1/orders", json: "{ \"items\" : [ { \"quantity\": 3, \"product_id\": \"\(product2)\" } ] }", token: token, headers: key)
            #expect(replay.status == .created)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replay.text == first.text)
            let reused = try await h.order(token, product: product, quantity: 1, headers: key)
            #expect(reused.status == .unprocessableContent)
            #expect(reused.problem == "idempotency-key-reused")
            // The same id in upper case is another JSON string, so another value; escapes of
            // the same string are the same value.
            let upper = try await h.call(
                .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product.uppercased())","quantity":3}]}"#, token: token, headers: key)
            #expect(upper.problem == "idempotency-key-reused", "\(upper.text)")
            let escaped = product.replacingOccurrences(of: "-", with: "\\u002d")
            let sameValue = try await h.call(
                .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(escaped)","quantity":3}]}"#, token: token, headers: key)
            #expect(sameValue.headers[HTTPField.Name("Idempotent-Replayed")!] == "true", "\(sameValue.text)")
            // A field the order ignores still makes another JSON value.
            let extra = try await h.call(
                .post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":3}],"coupon":"FREE100"}"#, token: token, headers: key)
            #expect(extra.problem == "idempotency-key-reused", "\(extra.text)")
            // Several items, in an order other than their ids': the replay has the same bytes.
            let first2 = try await h.product(admin: admin, stock: 5)
            let second2 = try await h.product(admin: admin, stock: 5)
            let (low, high) = first2 < second2 ? (first2, second2) : (second2, first2)
            let twoItems = #"{"items":[{"product_id":"\#(high)","quantity":1},{"product_id":"\#(low)","quantity":2}]}"#
            let created = try await h.call(.post, "/v1/orders", json: twoItems, token: token, headers: [.idempotencyKey: "order-2"])
            #expect(created.status == .created)
            let replayed = try await h.call(.post, "/v1/orders", json: twoItems, token: token, headers: [.idempotencyKey: "order-2"])
            #expect(replayed.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replayed.text == created.text)
            // A key is the user's, whatever the route: an order's key on a cancel, or a
            // product's key on an order, is another request.
            let orderID = try #require(first.object["id"] as? String)
            let cancelWithOrderKey = try await h.call(.post, "/v1/orders/\(orderID)/cancel", token: token, headers: key)
            #expect(cancelWithOrderKey.status == .unprocessableContent && cancelWithOrderKey.problem == "idempotency-key-reused", "\(cancelWithOrderKey.text)")
            #expect(try await h.call(.get, "/v1/orders/\(orderID)", token: token).object["status"] as? String == "PENDING")
            let productKey: HTTPFields = [.idempotencyKey: "product-key"]
            let made = try await h.call(
                .post, "/v1/products", json: #"{"sku":"KEYED","name":"Keyed","price":"1.00","initial_stock":5}"#, token: admin, headers: productKey)
            #expect(made.status == .created)
            let orderWithProductKey = try await h.order(admin, product: product2, quantity: 1, headers: productKey)
            #expect(orderWithProductKey.status == .unprocessableContent && orderWithProductKey.problem == "idempotency-key-reused", "\(orderWithProductKey.text)")
            let bad = try await h.order(token, product: product, headers: [.idempotencyKey: "tab\there"])
            #expect(bad.status == .badRequest)
            #expect(bad.problem == "invalid-idempotency-key")
            // Another user's identical key is theirs alone.
            let (_, other) = try await h.customer()
            #expect(try await h.order(other, product: product, quantity: 3, headers: key).problem == "insufficient-stock")
            // A failed request leaves no record: the same key may be retried.
            let restock = try await h.call(.post, "/v1/products/\(product)/stock", json: #"{"delta":3}"#, token: admin)
            #expect(restock.status == .ok)
            #expect(try await h.order(other, product: product, quantity: 3, headers: key).status == .created)
        }
    }

    @Test func concurrentRequestsWithOneKeyCreateExactlyOneOrder() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 100)
            let (me, token) = try await h.customer()
            let statuses = Shared<[Int]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await h.order(token, product: product, headers: [.idempotencyKey: "same"])
                        statuses.withLock { $0.append(response.status.code) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(statuses.withLock { $0.allSatisfy { $0 == 201 || $0 == 409 } }, "\(statuses.withLock { $0 })")
            let orders = try await h.db.query("SELECT count(*) AS n FROM orders WHERE user_id = $1", [.uuid(UUID(uuidString: me)!)])[0]
            #expect(try orders.decode("n", as: Int.self) == 1)
        }
    }

    @Test func twoHundredBuyersForFiftyUnitsGetExactlyFifty() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 50, shards: 8)
            let (_, token) = try await h.customer()
            let created = Shared(0)
            let refused = Shared(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let response = try await h.order(token, product: product)
                        if response.status == .created { created.withLock { $0 += 1 } }
                        if response.problem == "insufficient-stock" { refused.withLock { $0 += 1 } }
                    }
                }
                try await group.waitForAll()
            }
            #expect(created.withLock { $0 } == 50)
            #expect(refused.withLock { $0 } == 150)
            let stock = try await h.call(.get, "/v1/products/\(product)")
            #expect(stock.object["available"] as? Int == 0)
            #expect(stock.object["reserved"] as? Int == 50)
        }
    }
}
