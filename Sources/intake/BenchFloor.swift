import ArgumentParser
import Foundation
import Hummingbird

/// The HTTP floor of `scripts/load-bench`: bare Hummingbird, one route answering
/// `POST /v1/orders` by decoding the body and encoding an order-shaped response with
/// Foundation's Codable — no authentication, actors, database or events. Its CPU per request
/// in the same minutes as Intake's run is the yardstick of issue 12's server target (at most
/// 1.2× this floor; shared/docs/PERFORMANCE.md measured it at 136 µs).
struct BenchFloor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-floor",
        abstract: "Serve bare Hummingbird's JSON POST on 127.0.0.1 (the HTTP floor of scripts/load-bench).",
        shouldDisplay: false)

    @Option(help: "Port on 127.0.0.1.")
    var port: Int = 8099

    struct Item: Codable {
        var product_id: String
        var quantity: Int
    }

    struct Order: Decodable {
        var items: [Item]
    }

    struct PricedItem: Codable {
        var product_id: String
        var quantity: Int
        var unit_price: String
    }

    struct Created: ResponseEncodable {
        var id: String
        var user_id: String
        var status: String
        var items: [PricedItem]
        var amount: String
        var created_at: String
        var updated_at: String
        var expires_at: String
    }

    func run() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        router.post("/v1/orders") { request, context -> EditedResponse<Created> in
            let order = try await request.decode(as: Order.self, context: context)
            let now = Date().formatted(.iso8601)
            let created = Created(
                id: UUID().uuidString.lowercased(), user_id: UUID().uuidString.lowercased(), status: "PENDING",
                items: order.items.map { PricedItem(product_id: $0.product_id, quantity: $0.quantity, unit_price: "3.10") },
                amount: "3.10", created_at: now, updated_at: now, expires_at: now)
            return EditedResponse(status: .created, response: created)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
