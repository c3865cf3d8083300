import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Logging
import Testing

/// A gateway's own request context: Intake needs two properties on it.
struct GatewayContext: IntakeContext {
    var coreContext: CoreRequestContextStorage
    var principal: Principal?
    var requestID = ""
    var gatewayTag = "gw"

    init(source: Source) { coreContext = .init(source: source) }
}

/// Embedding Intake in another Hummingbird application. Part of the serialized suite of
/// whole-process tests: they share the public schema, where one relay leads at a time.
extension IntakeServicesTests {
    @Test func aGatewayServesItsOwnRoutesAndIntakesAndEventsReachTheStream() async throws {
        try await TestServices.withDatabase { url in
            var configuration = IntakeConfiguration()
            configuration.databaseURL = url
            configuration.redisURL = try TestServices.redisURL()
            configuration.eventStream = "test:\(UUID().uuidString):events"
            configuration.adminEmail = "gateway-admin-\(UUID().uuidString.prefix(8))@example.com"
            configuration.adminPassword = "gateway-password"
            configuration.bcryptCost = 4
            let logger = Logger(label: "test.gateway")
            let settings = configuration
            let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger)
            defer { Task { await infrastructure.shutdown() } }
            try await infrastructure.migrate()
            let secrets = IntakeSecrets(jwtSecret: Array("gateway-jwt-secret-0123456789abcdef".utf8), webhookSecret: [9], piiKey: Array(repeating: 3, count: 32))
            // The snippet of the README.
            let intake = try await IntakeServices(infrastructure: infrastructure, configuration: configuration, secrets: secrets, logger: logger)
            try await intake.bootstrapAdmin(configuration, logger: logger)
            let router = Router(context: GatewayContext.self, options: IntakeAPI.routerOptions)
            router.get("gateway/ping") { _, context in "pong from \(context.gatewayTag)" }
            intake.api.addRoutes(to: router)
            let app = Application(router: router, logger: logger)

            try await withRunningServices(intake.all) {
                try await app.test(.router) { client in
                    let pong = try await client.executeRequest(uri: "/gateway/ping", method: .get, headers: [:], body: nil)
                    #expect(String(buffer: pong.body) == "pong from gw")
                    let session = try await client.executeRequest(
                        uri: "/v1/sessions", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"email":"\#(settings.adminEmail ?? "")","password":"gateway-password"}"#))
                    #expect(session.status == .created)
                    let token = try #require((try JSONSerialization.jsonObject(with: Data(buffer: session.body)) as? [String: Any])?["access_token"] as? String)
                    let auth: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
                    let product = try await client.executeRequest(
                        uri: "/v1/products", method: .post, headers: auth,
                        body: ByteBuffer(string: #"{"sku":"GW-\#(UUID().uuidString.prefix(8))","name":"Gadget","price":"3.00","initial_stock":5}"#))
                    #expect(product.status == .created)
                    let productID = try #require((try JSONSerialization.jsonObject(with: Data(buffer: product.body)) as? [String: Any])?["id"] as? String)
                    let order = try await client.executeRequest(
                        uri: "/v1/orders", method: .post, headers: auth,
                        body: ByteBuffer(string: #"{"items":[{"product_id":"\#(productID)","quantity":2}]}"#))
                    #expect(order.status == .created)
                    let orderID = try #require((try JSONSerialization.jsonObject(with: Data(buffer: order.body)) as? [String: Any])?["id"] as? String)

                    // The relay publishes order.created, CloudEvents structured mode, to the stream.
                    var created: [String: Any]?
                    try await waitUntil("order.created is in the stream") {
                        let entries = try await infrastructure.redis.command("XRANGE", RedisArgument(settings.eventStream), "-", "+")
                        for entry in entries.array ?? [] {
                            guard let fields = entry.array?[1].array, fields.count == 2, fields[0].string == "event", let json = fields[1].string,
                                let event = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                                event["type"] as? String == "com.example.order.created"
                            else { continue }
                            created = event
                        }
                        return created != nil
                    }
                    let event = try #require(created)
                    #expect(event["specversion"] as? String == "1.0")
                    #expect(event["source"] as? String == "/intake/orders")
                    #expect(event["subject"] as? String == orderID)
                    #expect(event["datacontenttype"] as? String == "application/json")
                    let data = event["data"] as? [String: Any]
                    #expect(data?["orderId"] as? String == orderID)
                    #expect(data?["amount"] as? String == "6.00")
                    #expect((data?["items"] as? [[String: Any]])?.first?["productId"] as? String == productID)
                }
            }
            _ = try await infrastructure.redis.command("DEL", RedisArgument(configuration.eventStream))
        }
    }
}
