import Foundation
import Testing

@testable import IntakeServer

/// The order body's hand-written reader must answer exactly what `JSONDecoder` answers
/// wherever it answers at all, and give up (nil) on everything else, so that every error keeps
/// `JSONDecoder`'s wording.
@Suite struct CreateOrderCommonShapeTests {
    struct Decoded: Equatable {
        var items: [[String]]
        var userID: UUID?
        var region: String?

        init(_ request: CreateOrderRequest) {
            items = request.items.map { [$0.productID.uuid.uuidString, String($0.quantity)] }
            userID = request.userID?.uuid
            region = request.region
        }
    }

    /// Bodies near the order shape: members in any order, with whitespace, sometimes missing,
    /// repeated, unknown, null or of another type; ids in either case or broken; quantities
    /// written every way JSON allows and then some; strings with escapes.
    struct Generator {
        var random = SystemRandomNumberGenerator()

        mutating func pick<T>(_ choices: [T]) -> T { choices.randomElement(using: &random)! }
        mutating func space() -> String { pick(["", "", " ", "\n\t", "\r\n "]) }

        mutating func uuid() -> String {
            pick([
                "\"\(UUID().uuidString.lowercased())\"", "\"\(UUID().uuidString)\"", "\"\(UUID().uuidString.lowercased())\"",
                "\"not-a-uuid\"", "\"\"", "\"\\u0030\(UUID().uuidString.dropFirst())\"", "null", "7", "[]",
                "\" \(UUID().uuidString.dropFirst())\"", "\"+\(UUID().uuidString.dropFirst())\"",
            ])
        }

        mutating func quantity() -> String {
            pick([
                "1", "2", "0", "17", "999999", "123456789012345678", "1234567890123456789", "9223372036854775807",
                "99999999999999999999", "-1", "-0", "1.0", "1.5", "1e2", "1E0", "0.99999999999999999999", "\"1\"", "null", "true",
            ])
        }

        mutating func member(_ key: String, _ value: String) -> String { space() + "\"\(key)\"" + space() + ":" + space() + value + space() }

        mutating func item() -> String {
            var members = [member("product_id", uuid()), member("quantity", quantity())]
            if Int.random(in: 0..<8, using: &random) == 0 { members.removeLast() }
            if Int.random(in: 0..<10, using: &random) == 0 { members.append(member(pick(["note", "product_id", "quantity"]), "1")) }
            return "{" + members.shuffled(using: &random).joined(separator: ",") + "}"
        }

        mutating func body() -> String {
            var members: [String] = []
            if Int.random(in: 0..<10, using: &random) > 0 {
                let count = Int.random(in: 0...3, using: &random)
                members.append(member("items", "[" + (0..<count).map { _ in space() + item() + space() }.joined(separator: ",") + "]"))
            }
            if Bool.random(using: &random) { members.append(member("user_id", uuid())) }
            if Bool.random(using: &random) {
                members.append(member("region", pick(["\"eu-west\"", "null", "\"\"", "\"東京 🚀\"", "\"a\\\"b\"", "\"\\u00e9\"", "3"])))
            }
            if Int.random(in: 0..<10, using: &random) == 0 { members.append(member(pick(["extra", "items", "Items"]), "[]")) }
            return space() + "{" + members.shuffled(using: &random).joined(separator: ",") + "}" + space()
        }
    }

    @Test func answersWhatJSONDecoderAnswersOrGivesUp() throws {
        var generator = Generator()
        var answered = 0
        for _ in 0..<5000 {
            let body = Array(generator.body().utf8)
            guard (try? StrictJSON.validate(body)) != nil else { continue }
            guard let fast = CreateOrderRequest(commonShape: body) else { continue }
            answered += 1
            let reference = try? JSONDecoder().decode(CreateOrderRequest.self, from: Data(body))
            #expect(reference.map(Decoded.init) == Decoded(fast), "\(String(decoding: body, as: UTF8.self))")
        }
        #expect(answered > 200)
    }

    /// The bodies clients send (the load benchmark's among them) take the reader.
    @Test func readsTheUsualBodies() throws {
        let product = UUID()
        let user = UUID()
        let bodies = [
            "{\"items\":[{\"product_id\":\"\(product.uuidString.lowercased())\",\"quantity\":1}]}",
            "{ \"region\": \"eu-west\", \"user_id\": \"\(user.uuidString)\",\n \"items\": [ {\"quantity\": 12, \"product_id\": \"\(product.uuidString)\"} ] }",
            "{\"items\":[],\"user_id\":null,\"region\":null}",
        ]
        for body in bodies {
            let fast = try #require(CreateOrderRequest(commonShape: Array(body.utf8)), "\(body)")
            let reference = try JSONDecoder().decode(CreateOrderRequest.self, from: Data(body.utf8))
            #expect(Decoded(fast) == Decoded(reference))
        }
    }

    /// What it must leave to `JSONDecoder`, so that the error (or the value) stays its own.
    @Test func givesUpOutsideTheShape() {
        let product = UUID().uuidString.lowercased()
        let bodies = [
            "{\"items\":[{\"product_id\":\"\(product)\",\"quantity\":1.0}]}",
            "{\"items\":[{\"product_id\":\"\(product)\",\"quantity\":-1}]}",
            "{\"items\":[{\"product_id\":\"\(product)\",\"quantity\":1e0}]}",
            "{\"items\":[{\"product_id\":\"\(product)\",\"quantity\":1234567890123456789}]}",
            "{\"items\":[{\"product_id\":\"\(product)\"}]}",
            "{\"items\":[{\"product_id\":\"nope\",\"quantity\":1}]}",
            "{\"items\":[{\"product_id\":\"\(product)\",\"quantity\":1,\"note\":1}]}",
            "{\"items\":[],\"coupon\":\"x\"}",
            "{\"items\":[],\"region\":\"a\\nb\"}",
            "{\"user_id\":null}",
            "[]",
        ]
        for body in bodies { #expect(CreateOrderRequest(commonShape: Array(body.utf8)) == nil, "\(body)") }
    }
}
