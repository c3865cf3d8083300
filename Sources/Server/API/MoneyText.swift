import IntakeActors

/// A money field of a request: a JSON string with 0..2 decimals. A JSON number is refused
/// (API.md), as is a negative amount.
struct MoneyText: Decodable, Sendable {
    var money: Money

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let money = Money(text), money >= .zero else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be a non-negative decimal string with at most two decimals, like \"19.99\"")
        }
        self.money = money
    }
}

/// A UUID field of a request; an invalid one names its field.
struct UUIDText: Decodable, Sendable {
    var uuid: UUID

    init(uuid: UUID) {
        self.uuid = uuid
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let uuid = UUID(canonical: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be a UUID")
        }
        self.uuid = uuid
    }
}

import Foundation
