import Foundation
import IntakeActors

/// The API's JSON for an order, in and out, as the routes read and write it — public so that
/// benchmarks and clients in Swift measure and use exactly the server's coding.
public enum WireFormat {
    /// An order as every route returns it.
    public static func orderJSON(_ order: Order) throws -> [UInt8] {
        OrderResponse(order).json
    }

    /// A `POST /v1/orders` body for `userID`; a `Problem` (400 or 422) when it is not one.
    public static func newOrder(fromJSON bytes: [UInt8], userID: UUID) throws -> NewOrder {
        let body = try JSONBody.decode(CreateOrderRequest.self, from: ByteBuffer(bytes: bytes))
        return NewOrder(userID: userID, lines: body.lines, region: body.region)
    }
}

extension CreateOrderRequest {
    var lines: [NewOrder.Line] { items.map { NewOrder.Line(productID: $0.productID.uuid, quantity: $0.quantity) } }
}

import NIOCore
