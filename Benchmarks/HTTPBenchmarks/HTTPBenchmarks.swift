import Benchmark
import Foundation
import IntakeActors
import IntakeRuntime
import IntakeServer

/// The per-request CPU of the HTTP path that is not I/O: an order's JSON both ways, its
/// CloudEvent, and a token verified and issued. Each iteration does `scaledIterations`
/// operations, so `throughput` is operations per second; allocations count per iteration.
let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 2, scalingFactor: .kilo,
        maxDuration: .seconds(3), maxIterations: 50)

    let order = Order(
        id: UUIDv7.make(), userID: UUID(), status: .pending, amount: Money("37.50")!,
        items: (0..<3).map { OrderItem(productID: UUID(), quantity: $0 + 1, unitPrice: Money("6.25")!) }, region: "br",
        createdAt: Date(), updatedAt: Date(), expiresAt: Date().addingTimeInterval(900))
    let body = Array(
        #"{"items":[{"product_id":"\#(order.items[0].productID)","quantity":1},{"product_id":"\#(order.items[1].productID)","quantity":2},{"product_id":"\#(order.items[2].productID)","quantity":3}],"region":"br"}"#.utf8)

    Benchmark("order JSON encode (3 items)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try WireFormat.orderJSON(order)) }
    }

    Benchmark("order JSON decode (POST /v1/orders body, 3 items)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try WireFormat.newOrder(fromJSON: body, userID: order.userID)) }
    }

    let events = DomainEvents(typePrefix: "com.example")
    Benchmark("CloudEvent order.created, structured JSON", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(events.orderCreated(order).event.structuredJSON()) }
    }

    Benchmark("JWT HS256 verify", configuration: configuration) { (benchmark: Benchmark, setup: (TokenIssuer, String)) in
        for _ in benchmark.scaledIterations { blackHole(await setup.0.verify(setup.1)) }
    } setup: {
        let issuer = await TokenIssuer(secret: Array("benchmark-secret-0123456789abcdef-xyz".utf8), lifetime: .seconds(3600))
        let token = try await issuer.issue(for: Principal(userID: UUID(), role: .customer, sessionID: UUID().uuidString))
        return (issuer, token)
    }

    Benchmark("JWT HS256 issue", configuration: configuration) { (benchmark: Benchmark, issuer: TokenIssuer) in
        let principal = Principal(userID: UUID(), role: .customer, sessionID: UUID().uuidString)
        for _ in benchmark.scaledIterations { blackHole(try await issuer.issue(for: principal)) }
    } setup: {
        await TokenIssuer(secret: Array("benchmark-secret-0123456789abcdef-xyz".utf8), lifetime: .seconds(3600))
    }
}
