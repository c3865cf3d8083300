import Foundation

/// `{"items":[{"product_id":"…","quantity":1}, …], "user_id": …, "region": …}` with plain
/// strings and integers, read without `JSONDecoder` (its containers and the exact-`Decimal`
/// integer check were 5% of the server's CPU per order, `perf`, BENCHMARKS.md session 8).
extension CreateOrderRequest: CommonShapeDecodable {
    init?(commonShape bytes: [UInt8]) {
        var cursor = JSONCursor(bytes)
        var items: [Item]?
        var userID: UUIDText??
        var region: String??
        guard cursor.take(UInt8(ascii: "{")) else { return nil }
        if !cursor.take(UInt8(ascii: "}")) {
            repeat {
                guard let key = cursor.plainString(), cursor.take(UInt8(ascii: ":")) else { return nil }
                switch String(decoding: key, as: UTF8.self) {
                case "items" where items == nil:
                    guard let read = Self.items(&cursor) else { return nil }
                    items = read
                case "user_id" where userID == nil:
                    if cursor.takeNull() {
                        userID = .some(nil)
                    } else {
                        guard let text = cursor.plainString(), let uuid = UUID(canonicalUTF8: text) else { return nil }
                        userID = UUIDText(uuid: uuid)
                    }
                case "region" where region == nil:
                    if cursor.takeNull() {
                        region = .some(nil)
                    } else {
                        guard let text = cursor.plainString() else { return nil }
                        region = String(decoding: text, as: UTF8.self)
                    }
                default: return nil
                }
            } while cursor.take(UInt8(ascii: ","))
            guard cursor.take(UInt8(ascii: "}")) else { return nil }
        }
        guard cursor.atEnd, let items else { return nil }
        self.init(items: items, userID: userID ?? nil, region: region ?? nil)
    }

    private static func items(_ cursor: inout JSONCursor) -> [Item]? {
        guard cursor.take(UInt8(ascii: "[")) else { return nil }
        var items: [Item] = []
        if cursor.take(UInt8(ascii: "]")) { return items }
        repeat {
            guard cursor.take(UInt8(ascii: "{")) else { return nil }
            var productID: UUID?
            var quantity: Int?
            repeat {
                guard let key = cursor.plainString(), cursor.take(UInt8(ascii: ":")) else { return nil }
                switch String(decoding: key, as: UTF8.self) {
                case "product_id" where productID == nil:
                    guard let text = cursor.plainString(), let uuid = UUID(canonicalUTF8: text) else { return nil }
                    productID = uuid
                case "quantity" where quantity == nil:
                    guard let number = cursor.plainNaturalNumber() else { return nil }
                    quantity = number
                default: return nil
                }
            } while cursor.take(UInt8(ascii: ","))
            guard cursor.take(UInt8(ascii: "}")), let productID, let quantity else { return nil }
            items.append(Item(productID: UUIDText(uuid: productID), quantity: quantity))
        } while cursor.take(UInt8(ascii: ","))
        return cursor.take(UInt8(ascii: "]")) ? items : nil
    }
}
