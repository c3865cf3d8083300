import Foundation
import IntakeActors

/// `POST /v1/products`.
struct CreateProductRequest: Decodable, Sendable {
    var sku: String
    var name: String
    var price: MoneyText
    var initialStock: Int
    var stockShards: Int?

    enum CodingKeys: String, CodingKey {
        case sku, name, price
        case initialStock = "initial_stock"
        case stockShards = "stock_shards"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decode(String.self, forKey: .sku)
        name = try container.decode(String.self, forKey: .name)
        price = try container.decode(MoneyText.self, forKey: .price)
        initialStock = try container.decodeInteger(forKey: .initialStock)
        stockShards = try container.decodeIntegerIfPresent(forKey: .stockShards)
    }
}

/// `POST /v1/products/{id}/stock`.
struct StockChangeRequest: Decodable, Sendable {
    var delta: Int

    enum CodingKeys: String, CodingKey {
        case delta
    }

    init(from decoder: any Decoder) throws {
        delta = try decoder.container(keyedBy: CodingKeys.self).decodeInteger(forKey: .delta)
    }
}

struct ProductResponse: Encodable, Sendable {
    var id: String
    var sku: String
    var name: String
    var price: String
    var available: Int
    var reserved: Int
    var stockShards: Int
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, sku, name, price, available, reserved
        case stockShards = "stock_shards"
        case createdAt = "created_at"
    }

    init(_ stock: ProductStock) {
        id = stock.product.id.lowercased
        sku = stock.product.sku
        name = stock.product.name
        price = stock.product.price.description
        available = stock.available
        reserved = stock.reserved
        stockShards = stock.product.stockShards
        createdAt = Timestamp.string(stock.product.createdAt)
    }
}

/// A page of a listing.
struct PageResponse<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
