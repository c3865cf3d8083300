import Foundation
import IntakeRuntime

/// Builds the CloudEvents of API.md ("Events") for the outbox. Types are
/// `<prefix>.order.created` and so on, with a configurable prefix; `data` keys are
/// camelCase, as the seed's consumers expect.
public struct DomainEvents: Sendable {
    public var typePrefix: String

    public init(typePrefix: String = "com.example") {
        self.typePrefix = typePrefix
    }

    static let orderSource = "/intake/orders"
    static let inventorySource = "/intake/inventory"

    /// `<prefix>.inventory.updated`.
    var inventoryUpdatedType: String { "\(typePrefix).inventory.updated" }

    /// `order.created`: `{"orderId","userId","amount","items":[{"productId","quantity"}]}`.
    public func orderCreated(_ order: Order) -> OutboxEvent {
        var data = orderData(order)
        data.removeLast()  // "}"
        data += ",\"items\":["
        for (index, item) in order.items.enumerated() {
            if index > 0 { data += "," }
            data += "{\"productId\":\"\(item.productID.lowercasedString)\",\"quantity\":\(item.quantity)}"
        }
        data += "]}"
        return orderEvent(order, type: "created", data: data)
    }

    /// `order.paid`, `.shipped`, `.delivered`, `.canceled` (with `reason`):
    /// `{"orderId","userId","amount"}`.
    public func orderStatusChanged(_ order: Order, reason: CancelReason? = nil) -> OutboxEvent {
        var data = orderData(order)
        if let reason {
            data.removeLast()
            data += ",\"reason\":\"\(reason.rawValue)\"}"
        }
        return orderEvent(order, type: order.status.rawValue.lowercased(), data: data)
    }

    /// `inventory.updated`: `{"productId","newStockLevel"}` with the product's new total
    /// `available`.
    public func inventoryUpdated(productID: UUID, newStockLevel: Int, at time: Date = Date()) -> OutboxEvent {
        let id = productID.lowercasedString
        return OutboxEvent(
            aggregateType: "product", aggregateID: id,
            event: CloudEvent(
                source: Self.inventorySource, type: inventoryUpdatedType, subject: id, time: time,
                data: "{\"productId\":\"\(id)\",\"newStockLevel\":\(newStockLevel)}"))
    }

    private func orderData(_ order: Order) -> String {
        var data = "{\"orderId\":\""
        data.reserveCapacity(160 + 64 * order.items.count)
        data += order.id.lowercasedString
        data += "\",\"userId\":\""
        data += order.userID.lowercasedString
        data += "\",\"amount\":\""
        data += order.amount.description
        data += "\"}"
        return data
    }

    private func orderEvent(_ order: Order, type: String, data: String) -> OutboxEvent {
        let id = order.id.lowercasedString
        return OutboxEvent(
            aggregateType: "order", aggregateID: id,
            event: CloudEvent(source: Self.orderSource, type: "\(typePrefix).order.\(type)", subject: id, time: order.updatedAt, data: data))
    }
}
