import Foundation
import Testing

@testable import IntakeActors

/// The reservation protocol without I/O: every event in every state.
@Suite("Reservation state machine")
struct ReservationStateMachineTests {
    typealias Machine = Reservation.StateMachine
    typealias Hold = Reservation.Hold

    let p = UUID()
    let q = UUID()

    struct Seeded: RandomNumberGenerator, Sendable {
        var state: UInt64 = 7
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    func machine(_ lines: [Reservation.Line]) -> Machine {
        Machine(lines: lines, contention: ShardContention(random: Seeded()))
    }

    func key(_ product: UUID, _ shard: Int) -> ShardKey { ShardKey(productID: product, shard: shard) }

    // MARK: idle

    @Test func startingWithoutLinesCommitsAtOnce() {
        var m = machine([])
        #expect(m.start() == .commit(taken: []))
        #expect(m.committed() == .confirm([]))
        #expect(m.state == .finished)
    }

    @Test func startingHoldsTheFirstLinesFirstShard() {
        var m = machine([.init(productID: p, quantity: 3, shardOrder: [5, 0, 1])])
        #expect(m.start() == .hold(key(p, 5), upTo: 3))
        #expect(m.state == .holding(line: 0, position: 0, remaining: 3, contended: false, taken: []))
    }

    // MARK: holding

    @Test func aShortShardSplitsTheLineOverTheNextOnes() {
        var m = machine([.init(productID: p, quantity: 6, shardOrder: [2, 0, 3, 1])])
        #expect(m.start() == .hold(key(p, 2), upTo: 6))
        #expect(m.held(taken: 2, othersHolding: false) == .hold(key(p, 0), upTo: 4))
        #expect(m.held(taken: 0, othersHolding: false) == .hold(key(p, 3), upTo: 4))
        let taken = [Hold(productID: p, shard: 2, quantity: 2), Hold(productID: p, shard: 3, quantity: 4)]
        #expect(m.held(taken: 4, othersHolding: false) == .commit(taken: taken))
        #expect(m.state == .committing(taken: taken))
    }

    @Test func everyLineIsHeldInTurnThenCommittedTogether() {
        var m = machine([.init(productID: p, quantity: 1, shardOrder: [0]), .init(productID: q, quantity: 2, shardOrder: [1, 0])])
        #expect(m.start() == .hold(key(p, 0), upTo: 1))
        #expect(m.held(taken: 1, othersHolding: true) == .hold(key(q, 1), upTo: 2), "others' holds do not matter once the line is whole")
        #expect(m.held(taken: 2, othersHolding: false) == .commit(taken: [Hold(productID: p, shard: 0, quantity: 1), Hold(productID: q, shard: 1, quantity: 2)]))
    }

    @Test func aShortageNobodyElseStoodInIsRefusedWithEveryHoldReturned() {
        var m = machine([.init(productID: p, quantity: 1, shardOrder: [0]), .init(productID: q, quantity: 5, shardOrder: [0, 1])])
        _ = m.start()
        _ = m.held(taken: 1, othersHolding: false)
        _ = m.held(taken: 3, othersHolding: false)
        let action = m.held(taken: 0, othersHolding: false)
        #expect(action == .returnAndRefuse([Hold(productID: p, shard: 0, quantity: 1), Hold(productID: q, shard: 0, quantity: 3)], shortOf: q))
        #expect(m.state == .finished)
    }

    @Test func aShortageOthersStoodInIsRetriedFromTheStartAfterAPause() throws {
        var m = machine([.init(productID: p, quantity: 3, shardOrder: [1, 0])])
        _ = m.start()
        _ = m.held(taken: 1, othersHolding: true)
        guard case .returnAndRetry(let holds, let pause) = m.held(taken: 1, othersHolding: false) else {
            Issue.record("a contended shortage is retried")
            return
        }
        #expect(holds == [Hold(productID: p, shard: 1, quantity: 1), Hold(productID: p, shard: 0, quantity: 1)])
        #expect(pause > .zero)
        #expect(m.state == .backingOff)
        #expect(m.retryDue() == .hold(key(p, 1), upTo: 3))
        #expect(m.state == .holding(line: 0, position: 0, remaining: 3, contended: false, taken: []), "nothing held carries over")
    }

    @Test func contendedShortagesAreRefusedOnceTheRetriesAreSpent() {
        var m = machine([.init(productID: p, quantity: 2, shardOrder: [0])])
        var action = m.start()
        var retries = 0
        while true {
            action = m.held(taken: 1, othersHolding: true)
            guard case .returnAndRetry = action else { break }
            retries += 1
            action = m.retryDue()
        }
        #expect(retries == ShardContention.maxAttempts)
        #expect(action == .returnAndRefuse([Hold(productID: p, shard: 0, quantity: 1)], shortOf: p))
    }

    @Test func aFailedHoldReturnsWhatWasHeld() {
        var m = machine([.init(productID: p, quantity: 1, shardOrder: [0]), .init(productID: q, quantity: 1, shardOrder: [0])])
        _ = m.start()
        _ = m.held(taken: 1, othersHolding: false)
        #expect(m.holdFailed() == .returnAndFail([Hold(productID: p, shard: 0, quantity: 1)]))
        #expect(m.state == .finished)
    }

    // MARK: committing

    @Test func aCommitConfirmsFailsOrKeepsTheHolds() {
        let line = Reservation.Line(productID: p, quantity: 2, shardOrder: [0])
        let holds = [Hold(productID: p, shard: 0, quantity: 2)]
        for (event, expected) in [
            ({ (m: inout Machine) in m.committed() }, Machine.Action.confirm(holds)),
            ({ (m: inout Machine) in m.commitFailed() }, Machine.Action.returnAndFail(holds)),
            ({ (m: inout Machine) in m.outcomeUnknown() }, Machine.Action.keepAndReload(holds)),
        ] {
            var m = machine([line])
            _ = m.start()
            #expect(m.held(taken: 2, othersHolding: false) == .commit(taken: holds))
            #expect(event(&m) == expected)
            #expect(m.state == .finished)
        }
    }

    // MARK: events that do not belong to the state

    @Test func anEventOutOfTurnIsAProgrammingError() async {
        await #expect(processExitsWith: .failure) {
            var m = Reservation.StateMachine(lines: [])
            _ = m.held(taken: 1, othersHolding: false)  // idle
        }
        await #expect(processExitsWith: .failure) {
            var m = Reservation.StateMachine(lines: [.init(productID: UUID(), quantity: 1, shardOrder: [0])])
            _ = m.start()
            _ = m.committed()  // holding
        }
        await #expect(processExitsWith: .failure) {
            var m = Reservation.StateMachine(lines: [])
            _ = m.start()
            _ = m.retryDue()  // committing
        }
        await #expect(processExitsWith: .failure) {
            var m = Reservation.StateMachine(lines: [])
            _ = m.start()
            _ = m.committed()
            _ = m.holdFailed()  // finished
        }
        await #expect(processExitsWith: .failure) {
            var m = Reservation.StateMachine(lines: [])
            _ = m.start()
            _ = m.start()  // twice
        }
    }

    /// After the rows refused a write as stale, the rows read back decide: a product they
    /// hold too few units of is the shortage the order is refused for (409), named; with
    /// enough units everywhere, none is (the order is reserved again, then 503 if others keep
    /// taking them first).
    @Test func theRowsReadBackNameTheShortProduct() {
        let lines = [
            Reservation.Line(productID: p, quantity: 2, shardOrder: [0, 1]), Reservation.Line(productID: q, quantity: 3, shardOrder: [0]),
        ]
        #expect(ShardReserver.shortProduct(lines, available: [p: 2, q: 3]) == nil)
        #expect(ShardReserver.shortProduct(lines, available: [p: 5, q: 2]) == q)
        #expect(ShardReserver.shortProduct(lines, available: [p: 1, q: 0]) == p)
        #expect(ShardReserver.shortProduct(lines, available: [p: 9]) == q, "a product without rows has no units")
    }
}
