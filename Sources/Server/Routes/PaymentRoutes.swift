import Foundation
import HTTPTypes
import Hummingbird
import IntakeActors

/// `/v1/payments/webhook`: the payment provider's signed notifications.
struct PaymentRoutes<Context: IntakeContext> {
    let orders: OrderService
    let webhook: WebhookSignature

    func add(to group: RouterGroup<Context>) {
        group.post("payments/webhook", use: receive)
    }

    /// The signature is checked over the raw bytes before anything is parsed.
    @Sendable func receive(_ request: Request, context: Context) async throws -> Response {
        let bytes = Array(buffer: try await JSONBody.bytes(of: request))
        guard webhook.isValid(request.headers[.intakeSignature], body: bytes) else { throw Problem.badSignature }
        let body = try JSONBody.decode(PaymentWebhookRequest.self, from: ByteBuffer(bytes: bytes))
        let order = try await orders.pay(
            orderID: body.orderID.uuid, paymentID: body.paymentID, amount: body.amount.money, succeeded: body.status == .succeeded)
        return JSONBody.response(data: OrderResponse(order).json, status: .ok)
    }
}

extension HTTPField.Name {
    static let intakeSignature = HTTPField.Name.constant("Intake-Signature")
}
