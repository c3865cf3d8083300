import Foundation
import HTTPTypes
import HummingbirdTesting
import IntakeTestSupport
import Testing

@Suite("Products over HTTP")
struct ProductRoutesTests {
    @Test func onlyAdminsCreateProductsAndTheShapeIsTheContracts() async throws {
        try await withAPI { h in
            let (_, customer) = try await h.customer()
            let body = #"{"sku":"SKU-1","name":"Widget","price":"12.5","initial_stock":10}"#
            #expect(try await h.call(.post, "/v1/products", json: body).status == .unauthorized)
            #expect(try await h.call(.post, "/v1/products", json: body, token: customer).status == .forbidden)
            let admin = try await h.admin()
            let created = try await h.call(.post, "/v1/products", json: body, token: admin)
            #expect(created.status == .created)
            let product = created.object
            #expect(product["price"] as? String == "12.50")
            #expect(product["available"] as? Int == 10)
            #expect(product["reserved"] as? Int == 0)
            #expect(product["stock_shards"] as? Int == 4, "the configured default")
            #expect(Set(product.keys) == ["id", "sku", "name", "price", "available", "reserved", "stock_shards", "created_at"])
            let again = try await h.call(.post, "/v1/products", json: body, token: admin)
            #expect(again.status == .conflict)
            #expect(again.problem == "sku-taken")
            let shown = try await h.call(.get, "/v1/products/\(product["id"] as? String ?? "")")
            #expect(shown.status == .ok)
            #expect(shown.object["sku"] as? String == "SKU-1")
            #expect(try await h.call(.get, "/v1/products/\(UUID())").status == .notFound)
            #expect(try await h.call(.get, "/v1/products/not-a-uuid").status == .notFound)
            // A percent-encoded id is the same id (RFC 3986: `%30` is `0`); an encoded sign is
            // still no id.
            let id = product["id"] as? String ?? ""
            let encoded = "%" + String(format: "%02X", Int(id.utf8.first ?? 0)) + id.dropFirst()
            let shownEncoded = try await h.call(.get, "/v1/products/\(encoded)")
            #expect(shownEncoded.status == .ok && shownEncoded.object["id"] as? String == id, "\(encoded)")
            #expect(try await h.call(.get, "/v1/products/%2B\(id.dropFirst())").status == .notFound)
        }
    }

    @Test func moneyMustBeAStringAndRulesNameTheirField() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            for (body, field) in [
                (#"{"sku":"A","name":"A","price":12.5,"initial_stock":1}"#, "price"),
                (#"{"sku":"A","name":"A","price":"1.234","initial_stock":1}"#, "price"),
                (#"{"sku":"A","name":"A","price":"1.00","initial_stock":-1}"#, "initial_stock"),
                (#"{"sku":"A","name":"A","price":"1.00","initial_stock":1,"stock_shards":65}"#, "stock_shards"),
                (#"{"sku":"A","name":"A","price":"1.00"}"#, "initial_stock"),
            ] {
                let response = try await h.call(.post, "/v1/products", json: body, token: admin)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect((response.object["detail"] as? String)?.contains(field) == true, "\(body): \(response.text)")
            }
        }
    }

    @Test func restockWriteOffAndNeverBelowZero() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let id = try await h.product(admin: admin, stock: 5)
            let up = try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":7}"#, token: admin)
            #expect(up.status == .ok)
            #expect(up.object["available"] as? Int == 12)
            let down = try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":-12}"#, token: admin)
            #expect(down.object["available"] as? Int == 0)
            let below = try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":-1}"#, token: admin)
            #expect(below.status == .conflict)
            #expect(below.problem == "insufficient-stock")
            #expect(try await h.call(.post, "/v1/products/\(UUID())/stock", json: #"{"delta":1}"#, token: admin).status == .notFound)
        }
    }

    @Test func listingPagesThroughEveryProductOnce() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await h.product(admin: admin, stock: 1)) }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await h.call(.get, "/v1/products?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == .ok)
                seen += (page.object["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page.object["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == ids)
            #expect(try await h.call(.get, "/v1/products?limit=0").status == .unprocessableContent)
            #expect(try await h.call(.get, "/v1/products?cursor=zzz").status == .unprocessableContent)
        }
    }

    /// The database, not one process's memory, decides who runs a key: of concurrent
    /// restocks with one key exactly one runs; a failed one leaves the key free; a claim left
    /// by a crashed process is taken over once abandoned.
    @Test func restocksWithOneIdempotencyKeyRunOnce() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let id = try await h.product(admin: admin, stock: 10)
            let statuses = Shared<[Int]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let response = try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":5}"#, token: admin, headers: [.idempotencyKey: "restock-1"])
                        statuses.withLock { $0.append(response.status.code) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(statuses.withLock { $0.allSatisfy { $0 == 200 || $0 == 409 } }, "\(statuses.withLock { $0 })")
            #expect(try await h.call(.get, "/v1/products/\(id)").object["available"] as? Int == 15, "one restock of 5, whatever the concurrency")
            let replay = try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":5}"#, token: admin, headers: [.idempotencyKey: "restock-1"])
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")

            // A failed request releases its key.
            let refused = try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":-100}"#, token: admin, headers: [.idempotencyKey: "restock-2"])
            #expect(refused.problem == "insufficient-stock")
            #expect(try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":1}"#, token: admin, headers: [.idempotencyKey: "restock-2"]).status == .ok)

            // A claim abandoned by a crashed process is taken over; a fresh one is in use.
            try await h.db.query("""
                INSERT INTO idempotency_records (user_id, key, request_hash, status, body, created_at)
                SELECT user_id, 'restock-3', '\\x00', 0, '', now() - interval '2 minutes' FROM idempotency_records LIMIT 1
                """)
            #expect(try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":1}"#, token: admin, headers: [.idempotencyKey: "restock-3"]).status == .ok)
            try await h.db.query("""
                INSERT INTO idempotency_records (user_id, key, request_hash, status, body)
                SELECT user_id, 'restock-4', request_hash, 0, '' FROM idempotency_records WHERE key = 'restock-3'
                """)
            #expect(try await h.call(.post, "/v1/products/\(id)/stock", json: #"{"delta":1}"#, token: admin, headers: [.idempotencyKey: "restock-4"]).problem == "idempotency-key-in-use")
        }
    }
}
