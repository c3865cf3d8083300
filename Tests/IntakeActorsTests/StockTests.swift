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

/// `StockShard.resync` against a model of its row, this process's writer and another process:
/// random interleavings of holds, commits (each in a numbered writer transaction), their
/// messages arriving late and in any order, read-backs begun, read and applied at any point,
/// and another process's changes to the row.
@Suite struct StockShardResyncTests {
    enum Pending {
        case confirm(Int, Int), releaseHold(Int), release(Int, Int), restocked(Int, Int), resync(available: Int, reserved: Int, readIn: Int)
    }

    struct Model {
        var shard: StockShard
        var row: (available: Int, reserved: Int)
        var transaction = 0
        /// Units of this process's orders whose confirmations arrived: an order is answered
        /// after its confirmation is queued, so only these can be canceled (and a release
        /// arrives after the confirmation before it).
        var ownReserved = 0
        var holds: [Int] = []
        var pending: [Pending] = []
        /// Resyncs begun whose read has not run yet.
        var unread = 0
        /// The other process's changes after each read: (read transaction, Δavailable, Δreserved).
        var otherChanges: [(after: Int, available: Int, reserved: Int)] = []
        var lastApplied = 0
        /// What happened, for a failure's message.
        var trace: [String] = []

        mutating func apply(_ message: Pending) throws {
            trace.append("apply \(message)")
            switch message {
            case .confirm(let q, let t):
                shard.confirm(q, committedIn: t)
                ownReserved += q
            case .releaseHold(let q): shard.releaseHold(q)
            case .release(let q, let t): shard.release(q, committedIn: t)
            case .restocked(let q, let t): try shard.restock(q, committedIn: t)
            case .resync(let a, let r, let t):
                shard.resync(available: a, reserved: r, readIn: t)
                lastApplied = max(lastApplied, t)
            }
        }

        /// The figures the copy must show once nothing is in flight: the row's, less what the
        /// other process changed since the newest read applied.
        var expected: (available: Int, reserved: Int) {
            let since = otherChanges.filter { $0.after >= lastApplied }
            return (row.available - since.reduce(0) { $0 + $1.available }, row.reserved - since.reduce(0) { $0 + $1.reserved })
        }
    }

    @Test func aReadBackIsExactWhicheverSideOfItEachCommitLands() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let initial = Int.random(in: 0...20, using: &random)
            var m = Model(shard: StockShard(available: initial), row: (initial, 0))
            for _ in 0..<60 {
                switch Int.random(in: 0..<9, using: &random) {
                case 0:  // a hold
                    let taken = m.shard.hold(upTo: Int.random(in: 1...4, using: &random))
                    if taken > 0 { m.holds.append(taken); m.trace.append("hold \(taken)") }
                case 1 where !m.holds.isEmpty:  // a hold's order commits, or fails
                    let q = m.holds.remove(at: Int.random(in: 0..<m.holds.count, using: &random))
                    if Bool.random(using: &random), m.row.available >= q {
                        m.transaction += 1
                        m.row.available -= q
                        m.row.reserved += q
                        m.pending.append(.confirm(q, m.transaction)); m.trace.append("commit order \(q) t=\(m.transaction)")
                    } else {
                        m.pending.append(.releaseHold(q)); m.trace.append("fail order \(q)")
                    }
                case 2 where m.ownReserved > 0:  // a cancellation commits
                    let q = Int.random(in: 1...m.ownReserved, using: &random)
                    m.transaction += 1
                    m.row.available += q
                    m.row.reserved -= q
                    m.ownReserved -= q
                    m.pending.append(.release(q, m.transaction)); m.trace.append("commit cancel \(q) t=\(m.transaction)")
                case 3:  // a restock commits
                    let q = Int.random(in: 1...5, using: &random)
                    m.transaction += 1
                    m.row.available += q
                    m.pending.append(.restocked(q, m.transaction)); m.trace.append("commit restock \(q) t=\(m.transaction)")
                case 4:
                    // The other process restocks, or sells units this copy does not count (a
                    // sale it does count would be refused to this one by the row's checks:
                    // `ShardReserver`'s read-back after a refused write, not this model).
                    let q = Int.random(in: 1...5, using: &random)
                    if Bool.random(using: &random) {
                        m.row.available += q
                        m.otherChanges.append((m.transaction, q, 0)); m.trace.append("other restock \(q)")
                    } else if m.row.available - q >= m.shard.available + m.holds.reduce(0, +) {
                        m.row.available -= q
                        m.row.reserved += q
                        m.otherChanges.append((m.transaction, -q, q)); m.trace.append("other sale \(q)")
                    }
                case 5:  // a read-back begins
                    m.shard.beginResync(); m.trace.append("begin resync")
                    m.unread += 1
                case 6 where m.unread > 0:  // its read runs in the writer's next transaction
                    m.unread -= 1
                    m.transaction += 1
                    m.pending.append(.resync(available: m.row.available, reserved: m.row.reserved, readIn: m.transaction))
                default:  // a message arrives
                    if !m.pending.isEmpty { try m.apply(m.pending.remove(at: Int.random(in: 0..<m.pending.count, using: &random))) }
                }
                #expect(m.shard.available >= 0 && m.shard.held >= 0 && m.shard.reserved >= 0)
                m.trace.append("  row \(m.row) shard \(m.shard.available)/\(m.shard.held)/\(m.shard.reserved) t=\(m.transaction)")
            }
            for q in m.holds { m.shard.releaseHold(q) }
            m.holds = []
            while m.unread > 0 {
                m.unread -= 1
                m.transaction += 1
                m.pending.append(.resync(available: m.row.available, reserved: m.row.reserved, readIn: m.transaction))
            }
            m.pending.shuffle(using: &random)
            for message in m.pending { try m.apply(message) }
            let expected = m.expected
            #expect(m.shard.held == 0)
            #expect(m.shard.available == expected.available && m.shard.reserved == expected.reserved, "\(m.shard) against row \(m.row)\n\(m.trace.joined(separator: "\n"))")
            // A last read-back makes the copy the row's, whatever the other process did.
            m.shard.beginResync()
            m.transaction += 1
            m.shard.resync(available: m.row.available, reserved: m.row.reserved, readIn: m.transaction)
            #expect(m.shard.available == m.row.available && m.shard.reserved == m.row.reserved)
        }
    }
}
