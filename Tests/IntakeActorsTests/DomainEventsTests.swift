import Foundation
import IntakeActors
import IntakeRuntime
import Testing

@Suite struct DomainEventsTests {
    let order = Order(
        id: UUID(uuidString: "0192F0A1-7B3C-7D4E-8F90-ABCDEF012345")!, userID: UUID(uuidString: "11111111-2222-3333-4444-555555555555")!,
        status: .pending, amount: Money("3.10")!,
        items: [OrderItem(productID: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, quantity: 2, unitPrice: Money("1.55")!)],
        region: "br", createdAt: Date(timeIntervalSince1970: 1_795_801_200), updatedAt: Date(timeIntervalSince1970: 1_795_801_200),
        expiresAt: Date(timeIntervalSince1970: 1_795_802_100))

    func decode(_ event: OutboxEvent) throws -> (envelope: [String: Any], data: [String: Any]) {
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(event.event.structuredJSON().utf8)) as? [String: Any])
        return (envelope, try #require(envelope["data"] as? [String: Any]))
    }

    @Test func orderCreatedCarriesItemsInCamelCase() throws {
        let event = DomainEvents().orderCreated(order)
        let (envelope, data) = try decode(event)
        #expect(envelope["type"] as? String == "com.example.order.created")
        #expect(envelope["source"] as? String == "/intake/orders")
        #expect(envelope["subject"] as? String == "0192f0a1-7b3c-7d4e-8f90-abcdef012345")
        #expect(data["orderId"] as? String == "0192f0a1-7b3c-7d4e-8f90-abcdef012345")
        #expect(data["userId"] as? String == "11111111-2222-3333-4444-555555555555")
        #expect(data["amount"] as? String == "3.10")
        let items = try #require(data["items"] as? [[String: Any]])
        #expect(items.count == 1)
        #expect(items[0]["productId"] as? String == "00000000-0000-4000-8000-000000000001")
        #expect(items[0]["quantity"] as? Int == 2)
        #expect(event.aggregateType == "order")
    }

    @Test func statusEventsUseTheStatusAndCanceledAddsTheReason() throws {
        var paid = order
        paid.status = .paid
        let (paidEnvelope, paidData) = try decode(DomainEvents(typePrefix: "io.shop").orderStatusChanged(paid))
        #expect(paidEnvelope["type"] as? String == "io.shop.order.paid")
        #expect(paidData.keys.sorted() == ["amount", "orderId", "userId"])
        var canceled = order
        canceled.status = .canceled
        let (canceledEnvelope, canceledData) = try decode(DomainEvents().orderStatusChanged(canceled, reason: .paymentTimeout))
        #expect(canceledEnvelope["type"] as? String == "com.example.order.canceled")
        #expect(canceledData["reason"] as? String == "payment-timeout")
    }

    @Test func inventoryUpdatedHasItsOwnSource() throws {
        let product = UUID()
        let (envelope, data) = try decode(DomainEvents().inventoryUpdated(productID: product, newStockLevel: 41))
        #expect(envelope["source"] as? String == "/intake/inventory")
        #expect(envelope["type"] as? String == "com.example.inventory.updated")
        #expect(data["productId"] as? String == product.uuidString.lowercased())
        #expect(data["newStockLevel"] as? Int == 41)
    }
}
