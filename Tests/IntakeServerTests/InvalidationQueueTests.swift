import Testing

@testable import IntakeServer

@Suite("Invalidation queue (pure)")
struct InvalidationQueueTests {
    @Test func theFirstChangeSendsAndLaterOnesJoinTheNextLotWithEachKeyOnce() {
        var queue = InvalidationQueue<Int>()
        let firstSends = queue.enqueue(["product:a"], for: 1)
        #expect(firstSends, "nothing is being sent: the first change sends")
        let first = queue.nextLot()
        #expect(first?.keys == ["product:a"])
        #expect(first?.waiters == [1])
        // While the first lot is out, more changes queue; none becomes a second sender.
        let secondSends = queue.enqueue(["product:a"], for: 2)
        let thirdSends = queue.enqueue(["product:b", "product:a"], for: 3)
        #expect(!secondSends && !thirdSends)
        let second = queue.nextLot()
        #expect(second?.keys == ["product:a", "product:b"], "one new version per key serves every change of the lot")
        #expect(second?.waiters == [2, 3])
        let none = queue.nextLot()
        #expect(none == nil, "nothing left: the sender stops")
        let afterStop = queue.enqueue(["order:x"], for: 4)
        #expect(afterStop, "the next change after the sender stopped sends")
    }

    /// A change that queued after a lot was taken is never answered by that lot's versions:
    /// they may have been set before it committed.
    @Test func aChangeQueuedAfterALotWasTakenWaitsForTheNextLot() {
        var queue = InvalidationQueue<Int>()
        _ = queue.enqueue(["k"], for: 1)
        let taken = queue.nextLot()
        _ = queue.enqueue(["k"], for: 2)
        let next = queue.nextLot()
        #expect(taken?.waiters == [1])
        #expect(next?.waiters == [2])
    }
}
