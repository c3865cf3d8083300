import Foundation
import IntakeActors
import Testing

@Suite struct StockShardTests {
    @Test func holdConfirmReleaseConsumeKeepOnHandExact() throws {
        var shard = StockShard(available: 10)
        #expect(shard.hold(upTo: 4) == 4)
        #expect((shard.available, shard.held, shard.reserved) == (6, 4, 0))
        shard.confirm(4)
        #expect((shard.available, shard.held, shard.reserved) == (6, 0, 4))
        #expect(shard.onHand == 10)
        shard.release(1)  // a canceled order's unit
        #expect((shard.available, shard.reserved) == (7, 3))
        shard.consume(3)  // shipped
        #expect((shard.available, shard.reserved, shard.onHand) == (7, 0, 7))
        try shard.restock(5)
        try shard.restock(-12)
        #expect(shard.available == 0)
    }

    @Test func holdsNeverTakeMoreThanAvailableAndFailedHoldsReturn() {
        var shard = StockShard(available: 3)
        #expect(shard.hold(upTo: 5) == 3)
        #expect(shard.hold(upTo: 1) == 0)
        shard.releaseHold(3)
        #expect((shard.available, shard.held) == (3, 0))
        #expect(shard.hold(upTo: -2) == 0)
    }

    @Test func writeOffBelowZeroIsRefused() {
        var shard = StockShard(available: 2)
        #expect(throws: DomainError.self) { try shard.restock(-3) }
        #expect(shard.available == 2)
    }

    @Test func randomHistoriesNeverGoNegativeAndConserveStock() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var shard = StockShard(available: Int.random(in: 0...50, using: &random))
            var onHand = shard.onHand
            for _ in 0..<200 {
                let n = Int.random(in: 0...10, using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0: _ = shard.hold(upTo: n)
                case 1: shard.confirm(n)
                case 2: shard.releaseHold(n)
                case 3: shard.release(n)
                case 4:
                    let consumed = min(n, shard.reserved)
                    shard.consume(n)
                    onHand -= consumed
                default:
                    let delta = Int.random(in: -10...10, using: &random)
                    if (try? shard.restock(delta)) != nil { onHand += delta }
                }
                #expect(shard.available >= 0 && shard.held >= 0 && shard.reserved >= 0)
                #expect(shard.onHand == onHand)
            }
        }
    }
}

@Suite struct ReservationPlanTests {
    @Test func startShardIsStableAndEveryShardIsVisitedOnce() {
        let order = UUID()
        let first = ReservationPlan.shardOrder(orderID: order, shardCount: 8)
        #expect(first == ReservationPlan.shardOrder(orderID: order, shardCount: 8))
        #expect(Set(first) == Set(0..<8))
        #expect(first.count == 8)
        // Consecutive: start, start+1, ... wrapping.
        for (a, b) in zip(first, first.dropFirst()) { #expect(b == (a + 1) % 8) }
        #expect(ReservationPlan.shardOrder(orderID: order, shardCount: 0) == [])
    }

    @Test func ordersSpreadOverShards() {
        var counts = [Int](repeating: 0, count: 8)
        for _ in 0..<8000 { counts[ReservationPlan.shardOrder(orderID: UUID(), shardCount: 8)[0]] += 1 }
        #expect(counts.allSatisfy { $0 > 800 && $0 < 1200 }, "\(counts)")
    }

    @Test func stableHashDoesNotDependOnTheProcess() throws {
        let id = try #require(UUID(uuidString: "00000000-0000-0000-0000-000000000000"))
        // FNV-1a of sixteen zero bytes, computed independently.
        #expect(ReservationPlan.stableHash(id) == 0x8820_1fb9_60ff_6465)
    }
}
