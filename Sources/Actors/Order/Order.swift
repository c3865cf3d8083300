import Foundation

/// One line of an order.
public struct OrderItem: Sendable, Hashable {
    public var productID: UUID
    public var quantity: Int
    public var unitPrice: Money

    public init(productID: UUID, quantity: Int, unitPrice: Money) {
        self.productID = productID
        self.quantity = quantity
        self.unitPrice = unitPrice
    }
}

/// An order aggregate as the order actor holds it.
public struct Order: Sendable, Hashable {
    public var id: UUID
    public var userID: UUID
    public var status: OrderStatus
    public var amount: Money
    public var items: [OrderItem]
    public var region: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// A PENDING order not paid by then is canceled by the payment-timeout sweep.
    public var expiresAt: Date

    public init(
        id: UUID, userID: UUID, status: OrderStatus, amount: Money, items: [OrderItem], region: String?, createdAt: Date,
        updatedAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.status = status
        self.amount = amount
        self.items = items
        self.region = region
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.expiresAt = expiresAt
    }

    /// Σ quantity × unit price, exactly; `validation` on overflow.
    public static func amount(of items: [OrderItem]) throws(DomainError) -> Money {
        var total = Money.zero
        for item in items {
            guard let line = item.unitPrice.multiplied(by: item.quantity), let sum = total.adding(line), sum <= .maximumStored else {
                throw DomainError(.validation, "the order's amount is too large", subject: "items")
            }
            total = sum
        }
        return total
    }
}
