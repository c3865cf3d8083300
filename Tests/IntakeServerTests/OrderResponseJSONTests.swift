import Foundation
import IntakeActors
@testable import IntakeServer
import Testing

/// The order JSON written by hand must be byte for byte what `JSONBody.encoder` writes:
/// cached entries, idempotent replays and older clients compare the bytes.
@Suite("Order JSON written by hand")
struct OrderResponseJSONTests {
    static func order(region: String?, items: Int) -> Order {
        let lines = (0..<items).map { index in
            OrderItem(productID: UUID(), quantity: index + 1, unitPrice: Money(cents: Int64(index) * 1_234 + 5))
        }
        let now = Date(timeIntervalSince1970: 1_796_000_000.123456)
        return Order(
            id: UUID(), userID: UUID(), status: .pending, amount: Money(cents: 999_999_999), items: lines, region: region, createdAt: now,
            updatedAt: now.addingTimeInterval(0.5), expiresAt: now.addingTimeInterval(900))
    }

    @Test(arguments: [
        nil, "", "br", "São Paulo / 東京 🚀", "quote\" back\\slash", "tab\tnew\nline\r", "\u{1}\u{8}\u{C}\u{1F}\u{7F}", "\u{2028}\u{2029}</script>",
    ])
    func matchesTheEncoder(region: String?) throws {
        for items in [0, 1, 3] {
            let response = OrderResponse(Self.order(region: region, items: items))
            let encoded = [UInt8](try JSONBody.encoder.encode(response))
            #expect(response.json == encoded, "\(String(decoding: response.json, as: UTF8.self))\n\(String(decoding: encoded, as: UTF8.self))")
        }
    }
}
