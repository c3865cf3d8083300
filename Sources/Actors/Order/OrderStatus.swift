/// The life of an order: `PENDING → PAID → SHIPPED → DELIVERED`, and `PENDING → CANCELED`,
/// `PAID → CANCELED` (admins only).
public enum OrderStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case pending = "PENDING"
    case paid = "PAID"
    case shipped = "SHIPPED"
    case delivered = "DELIVERED"
    case canceled = "CANCELED"
}

/// Who asks for a transition.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case customer, admin
}

/// Why an order was canceled (the `reason` of the `.canceled` event).
public enum CancelReason: String, Sendable, Hashable, Codable {
    case user
    case admin
    case paymentTimeout = "payment-timeout"
}

/// A change of an order's status.
public enum OrderTransition: Sendable, Hashable {
    case pay
    case ship
    case deliver
    case cancel(by: Role, reason: CancelReason)
    /// The payment-timeout sweep's cancel: only from PENDING, only once `expires_at` has
    /// passed (the actor checks the time), never of a paid order.
    case expire
}

/// What a transition does to the order's reserved stock.
public enum StockEffect: Sendable, Hashable {
    case none
    /// Reserved units return to `available` (cancel, payment timeout).
    case release
    /// Reserved units leave the warehouse (ship).
    case consume
}

extension OrderStatus {
    /// The status after `transition`, and what it does to stock; throws `invalidTransition`
    /// for any move the life cycle does not have, and `forbidden` for a customer canceling a
    /// paid order.
    public func applying(_ transition: OrderTransition) throws(DomainError) -> (status: OrderStatus, stock: StockEffect) {
        switch (self, transition) {
        case (.pending, .pay):
            return (.paid, .none)
        case (.paid, .ship):
            return (.shipped, .consume)
        case (.shipped, .deliver):
            return (.delivered, .none)
        case (.pending, .cancel), (.pending, .expire):
            return (.canceled, .release)
        case (.paid, .cancel(by: .admin, _)):
            return (.canceled, .release)
        case (.paid, .cancel(by: .customer, _)):
            throw DomainError(.forbidden, "only an admin can cancel a paid order")
        default:
            throw DomainError(.invalidTransition, "cannot \(transition.verb) an order that is \(rawValue)")
        }
    }
}

extension OrderTransition {
    /// The `reason` of the `order.canceled` event this transition writes, if it cancels.
    var cancelReason: CancelReason? {
        switch self {
        case .cancel(_, let reason): reason
        case .expire: .paymentTimeout
        default: nil
        }
    }

    var verb: String {
        switch self {
        case .pay: "pay"
        case .ship: "ship"
        case .deliver: "deliver"
        case .cancel: "cancel"
        case .expire: "expire"
        }
    }
}
