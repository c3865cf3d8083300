import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Payment webhook over HTTP")
struct PaymentRoutesTests {
    @Test func signedPaymentsMoveOrdersAndEverythingElseIsRefused() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let product = try await h.product(admin: admin, stock: 10, price: "4.00")
            let (_, token) = try await h.customer()
            let order = try #require(try await h.order(token, product: product, quantity: 2).object["id"] as? String)

            let body = #"{"payment_id":"p1","order_id":"\#(order)","amount":"8.00","status":"succeeded"}"#
            let unsigned = try await h.call(.post, "/v1/payments/webhook", json: body)
            #expect(unsigned.status == .unauthorized)
            #expect(unsigned.problem == "bad-signature")
            let overOtherBody = h.webhook.header(for: Array(#"{"payment_id":"p0"}"#.utf8))
            #expect(try await h.call(.post, "/v1/payments/webhook", json: body, headers: [.intakeSignatureForTests: overOtherBody]).problem == "bad-signature")
            #expect(try await h.pay(order: order, amount: "8.00", signedAt: Date().addingTimeInterval(-301)).problem == "bad-signature")

            let mismatch = try await h.pay(order: order, amount: "8.01")
            #expect(mismatch.status == .unprocessableContent)
            #expect(mismatch.problem == "amount-mismatch")
            let failed = try await h.pay(order: order, amount: "8.00", status: "failed")
            #expect(failed.status == .ok)
            #expect(failed.object["status"] as? String == "PENDING")
            let paid = try await h.pay(order: order, amount: "8", paymentID: "pay-1")
            #expect(paid.status == .ok)
            #expect(paid.object["status"] as? String == "PAID")
            let replayed = try await h.pay(order: order, amount: "8.00", paymentID: "pay-1")
            #expect(replayed.status == .ok, "a payment applied once has no second effect")
            let second = try await h.pay(order: order, amount: "8.00", paymentID: "pay-2")
            #expect(second.status == .conflict)
            #expect(second.problem == "invalid-transition")
            #expect(try await h.pay(order: UUID().uuidString.lowercased(), amount: "1.00").status == .notFound)
            let payments = try await h.db.query("SELECT count(*) AS n FROM payments")[0]
            #expect(try payments.decode("n", as: Int.self) == 1)
        }
    }
}
