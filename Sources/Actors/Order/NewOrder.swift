import Foundation
import IntakeRuntime

/// A request to create an order.
public struct NewOrder: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var productID: UUID
        public var quantity: Int
        public init(productID: UUID, quantity: Int) {
            self.productID = productID
            self.quantity = quantity
        }
    }

    /// Who asks for an order: its owner, or an admin ordering for a customer.
    public struct Caller: Sendable, Hashable {
        public var id: UUID
        public var role: Role
        public init(id: UUID, role: Role) {
            self.id = id
            self.role = role
        }
    }

    public var userID: UUID
    public var lines: [Line]
    public var region: String?
    /// The creating request's idempotency key and body hash, stored on the order row. The
    /// key is the caller's: unique per caller, not per owner.
    public var idempotencyKey: String?
    public var requestHash: [UInt8]?
    /// nil: the owner themselves.
    public var caller: Caller?

    public init(
        userID: UUID, lines: [Line], region: String? = nil, idempotencyKey: String? = nil, requestHash: [UInt8]? = nil,
        caller: Caller? = nil
    ) {
        self.userID = userID
        self.lines = lines
        self.region = region
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.caller = caller
    }

    /// Whose idempotency keys `idempotencyKey` is one of.
    public var idempotencyScope: UUID { caller?.id ?? userID }

    /// API.md's rules: only an admin orders for someone else; 1..100 lines, distinct
    /// products, quantities 1..1000; a region of 1..64 characters.
    func validate() throws(DomainError) {
        if let caller, caller.id != userID, caller.role != .admin {
            throw DomainError(.forbidden, "only admins may create orders for another user", subject: "user_id")
        }
        guard (1...100).contains(lines.count) else {
            throw DomainError(.validation, "an order has 1 to 100 items", subject: "items")
        }
        guard Set(lines.map(\.productID)).count == lines.count else {
            throw DomainError(.validation, "product ids must be distinct", subject: "items")
        }
        for (index, line) in lines.enumerated() where !(1...1000).contains(line.quantity) {
            throw DomainError(.validation, "quantity must be 1..1000", subject: "items[\(index)].quantity")
        }
        if let region { try FieldRules.text(region, field: "region", length: 1...64) }
    }
}
