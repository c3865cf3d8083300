import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeActors

@Suite("Holds that contend for thin stock")
struct ShardContentionTests {
    /// 25 units spread over 64 shards (most hold 0 or 1), 30 buyers of 3 at once: each order
    /// gathers from several shards, and holds of the others stand on the shards it finds
    /// short. A shortage seen while others hold units is not yet a shortage: exactly 8 orders
    /// succeed (24 units), 1 unit stays, and the rest are refused only once it is real.
    /// (Answering the first contended shortage as `insufficientStock`, most buyers were
    /// refused while stock for them existed.)
    @Test func buyersOfThinlySpreadStockAreRefusedOnlyWhenItIsGone() async throws {
        try await withOrderService { service, db in
            for round in 0..<3 {
                let product = try await service.createProduct(sku: "THIN-\(round)", name: "Thin", price: Money("1.00")!, initialStock: 25, shards: 64)
                let results = await withTaskGroup(of: Bool.self) { group in
                    for _ in 0..<30 {
                        group.addTask {
                            (try? await service.createOrder(NewOrder(userID: UUID(), lines: [.init(productID: product.id, quantity: 3)]))) != nil
                        }
                    }
                    return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(results == 8, "round \(round)")
                let stock = try #require(try await service.product(product.id))
                #expect((stock.available, stock.reserved) == (1, 24), "round \(round)")
            }
        }
    }

    @Test func contentionPausesAreBoundedAndGrow() {
        struct Fixed: RandomNumberGenerator, Sendable {
            var state: UInt64 = 42
            mutating func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return state
            }
        }
        var contention = ShardContention(random: Fixed())
        var pauses: [Duration] = []
        while let pause = contention.nextPause() { pauses.append(pause) }
        #expect(pauses.count == ShardContention.maxAttempts)
        #expect(pauses.allSatisfy { $0 >= .microseconds(500) && $0 <= .milliseconds(16) })
        #expect(pauses.reduce(.zero, +) < .milliseconds(400))
        #expect(contention.nextPause() == nil)
    }
}
