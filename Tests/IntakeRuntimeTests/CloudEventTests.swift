import Foundation
import Testing

@testable import IntakeRuntime

@Suite struct CloudEventTests {
    @Test func structuredModeCarriesTheRequiredAttributesAndEmbedsJSONData() throws {
        let id = try #require(UUID(uuidString: "0192F0A1-7B3C-7D4E-8F90-ABCDEF012345"))
        let event = CloudEvent(
            id: id, source: "/intake/orders", type: "com.example.order.created", subject: "order-1",
            time: Date(timeIntervalSince1970: 1_795_801_200.123), data: #"{"orderId":"order-1","amount":"3.10"}"#)
        let json = event.structuredJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        // CloudEvents 1.0 required attributes.
        #expect(object["specversion"] as? String == "1.0")
        #expect(object["id"] as? String == "0192f0a1-7b3c-7d4e-8f90-abcdef012345")
        #expect(object["source"] as? String == "/intake/orders")
        #expect(object["type"] as? String == "com.example.order.created")
        // Optional ones we always send.
        #expect(object["subject"] as? String == "order-1")
        #expect(object["time"] as? String == "2026-11-27T17:40:00.123Z")
        #expect(object["datacontenttype"] as? String == "application/json")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["amount"] as? String == "3.10")
    }

    @Test func attributesAreEscaped() throws {
        let event = CloudEvent(source: "/s\"q", type: "t\\n\n", subject: nil, data: "[]")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.structuredJSON().utf8)) as? [String: Any])
        #expect(object["source"] as? String == "/s\"q")
        #expect(object["type"] as? String == "t\\n\n")
        #expect(object["subject"] == nil)
    }

    @Test func nonJSONDataIsAString() throws {
        let event = CloudEvent(source: "/s", type: "t", dataContentType: "text/plain", data: "hello \"world\"")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.structuredJSON().utf8)) as? [String: Any])
        #expect(object["data"] as? String == "hello \"world\"")
    }
}
