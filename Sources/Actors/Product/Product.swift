import Foundation

/// A product of the catalog. Price and shard count never change after creation, so the
/// catalog can cache them.
public struct Product: Sendable, Hashable {
    public var id: UUID
    public var sku: String
    public var name: String
    public var price: Money
    public var stockShards: Int
    public var createdAt: Date

    public init(id: UUID, sku: String, name: String, price: Money, stockShards: Int, createdAt: Date) {
        self.id = id
        self.sku = sku
        self.name = name
        self.price = price
        self.stockShards = stockShards
        self.createdAt = createdAt
    }
}

/// A product with its stock, summed over its shards.
public struct ProductStock: Sendable, Hashable {
    public var product: Product
    public var available: Int
    public var reserved: Int

    public init(product: Product, available: Int, reserved: Int) {
        self.product = product
        self.available = available
        self.reserved = reserved
    }
}
