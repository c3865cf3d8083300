import Crypto
import Foundation
import IntakeRuntime
import IntakeActors

/// `POST /v1/orders`.
struct CreateOrderRequest: Decodable, Sendable {
    struct Item: Decodable, Sendable {
        var productID: UUIDText
        var quantity: Int

        enum CodingKeys: String, CodingKey {
            case productID = "product_id"
            case quantity
        }

        init(productID: UUIDText, quantity: Int) {
            self.productID = productID
            self.quantity = quantity
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            productID = try container.decode(UUIDText.self, forKey: .productID)
            quantity = try container.decodeInteger(forKey: .quantity)
        }
    }

    var items: [Item]
    var userID: UUIDText?
    var region: String?

    enum CodingKeys: String, CodingKey {
        case items
        case userID = "user_id"
        case region
    }
}

/// An order, the same shape everywhere one is returned.
struct OrderResponse: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var productID: String
        var quantity: Int
        var unitPrice: String

        enum CodingKeys: String, CodingKey {
            case productID = "product_id"
            case quantity
            case unitPrice = "unit_price"
        }
    }

    var id: String
    var userID: String
    var status: String
    var amount: String
    var items: [Item]
    var region: String?
    var createdAt: String
    var updatedAt: String
    var expiresAt: String

    enum CodingKeys: String, CodingKey {
        case id
        case userID = "user_id"
        case status, amount, items, region
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case expiresAt = "expires_at"
    }

    init(_ order: Order) {
        id = order.id.lowercasedString
        userID = order.userID.lowercasedString
        status = order.status.rawValue
        amount = order.amount.description
        // In product-id order, as the order lists them however it was made or read
        // (`OrderCreation`): idempotent replays compare these bytes.
        items = order.items.map { Item(productID: $0.productID.lowercasedString, quantity: $0.quantity, unitPrice: $0.unitPrice.description) }
        region = order.region
        createdAt = Timestamp.string(order.createdAt)
        updatedAt = Timestamp.string(order.updatedAt)
        expiresAt = Timestamp.string(order.expiresAt)
    }

    /// The same bytes as `JSONBody.encoder` (sorted keys, slashes unescaped) writes, by hand:
    /// every create answers with it, and JSONEncoder was ~4% of the server's CPU per order.
    var json: [UInt8] {
        var out = "{\"amount\":"
        out.reserveCapacity(360 + 130 * items.count)
        JSONText.appendString(amount, to: &out)
        out += ",\"created_at\":"
        JSONText.appendString(createdAt, to: &out)
        out += ",\"expires_at\":"
        JSONText.appendString(expiresAt, to: &out)
        out += ",\"id\":"
        JSONText.appendString(id, to: &out)
        out += ",\"items\":["
        for (index, item) in items.enumerated() {
            out += index == 0 ? "{\"product_id\":" : ",{\"product_id\":"
            JSONText.appendString(item.productID, to: &out)
            out += ",\"quantity\":\(item.quantity),\"unit_price\":"
            JSONText.appendString(item.unitPrice, to: &out)
            out += "}"
        }
        out += "],\"region\":"
        if let region { JSONText.appendString(region, to: &out) } else { out += "null" }
        out += ",\"status\":"
        JSONText.appendString(status, to: &out)
        out += ",\"updated_at\":"
        JSONText.appendString(updatedAt, to: &out)
        out += ",\"user_id\":"
        JSONText.appendString(userID, to: &out)
        out += "}"
        return Array(out.utf8)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(userID, forKey: .userID)
        try container.encode(status, forKey: .status)
        try container.encode(amount, forKey: .amount)
        try container.encode(items, forKey: .items)
        try container.encode(region, forKey: .region)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}

/// `POST /v1/payments/webhook`.
struct PaymentWebhookRequest: Decodable, Sendable {
    enum Status: String, Decodable, Sendable {
        case succeeded, failed

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            guard let status = Status(rawValue: try container.decode(String.self)) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be \"succeeded\" or \"failed\"")
            }
            self = status
        }
    }

    var paymentID: String
    var orderID: UUIDText
    var amount: MoneyText
    var status: Status

    enum CodingKeys: String, CodingKey {
        case paymentID = "payment_id"
        case orderID = "order_id"
        case amount, status
    }
}
