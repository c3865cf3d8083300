import Testing

@testable import IntakeRuntime

/// The pool's bookkeeping without threads or sockets.
@Suite struct ConnectionPoolStateMachineTests {
    typealias Machine = ConnectionPool<DummyConnection>.StateMachine

    @Test func createsSlotsLazilyUpToTheLimitThenQueues() {
        var machine = Machine(maxSlots: 2)
        #expect(machine.leaseRequested(by: 1) == .createAndLease(slot: 0))
        #expect(machine.leaseRequested(by: 2) == .createAndLease(slot: 1))
        #expect(machine.leaseRequested(by: 3) == .wait)
        #expect(machine.leaseRequested(by: 4) == .wait)
        #expect(machine.leasedCount == 2)
    }

    @Test func releasedSlotGoesToTheOldestWaiterFirst() {
        var machine = Machine(maxSlots: 1)
        _ = machine.leaseRequested(by: 1)
        _ = machine.leaseRequested(by: 2)
        _ = machine.leaseRequested(by: 3)
        #expect(machine.slotReleased(0) == .handOver(slot: 0, to: 2))
        #expect(machine.slotReleased(0) == .handOver(slot: 0, to: 3))
        #expect(machine.slotReleased(0) == .park)
        #expect(machine.leaseRequested(by: 4) == .lease(slot: 0))
    }

    @Test func idleSlotsAreReusedBeforeNewOnesAreCreated() {
        var machine = Machine(maxSlots: 4)
        #expect(machine.leaseRequested(by: 1) == .createAndLease(slot: 0))
        #expect(machine.slotReleased(0) == .park)
        #expect(machine.leaseRequested(by: 2) == .lease(slot: 0))
        #expect(machine.slotCount == 1)
    }

    @Test func mostRecentlyReleasedSlotIsReusedFirst() {
        var machine = Machine(maxSlots: 2)
        _ = machine.leaseRequested(by: 1)
        _ = machine.leaseRequested(by: 2)
        _ = machine.slotReleased(0)
        _ = machine.slotReleased(1)
        #expect(machine.leaseRequested(by: 3) == .lease(slot: 1))
    }

    @Test func waiterThatGaveUpIsSkipped() {
        var machine = Machine(maxSlots: 1)
        _ = machine.leaseRequested(by: 1)
        _ = machine.leaseRequested(by: 2)
        _ = machine.leaseRequested(by: 3)
        let first = machine.waiterGaveUp(2)
        let second = machine.waiterGaveUp(2)
        #expect(first)
        #expect(!second, "a waiter gives up once")
        #expect(machine.slotReleased(0) == .handOver(slot: 0, to: 3))
        // A waiter already served cannot time out any more.
        let served = machine.waiterGaveUp(3)
        #expect(!served)
    }

    @Test func shutdownFailsWaitersClosesIdleSlotsAndLaterReleases() {
        var machine = Machine(maxSlots: 2)
        _ = machine.leaseRequested(by: 1)
        _ = machine.leaseRequested(by: 2)
        _ = machine.slotReleased(1)
        _ = machine.leaseRequested(by: 3)  // takes idle slot 1
        _ = machine.leaseRequested(by: 4)  // waits
        let action = machine.shutdown()
        #expect(action.failWaiters == [4])
        #expect(action.closeSlots == [])
        #expect(machine.slotReleased(0) == .close(slot: 0))
        #expect(machine.leaseRequested(by: 5) == .fail)
        #expect(machine.shutdown() == .init(failWaiters: [], closeSlots: []))
    }
}

final class DummyConnection: PoolableConnection {
    func prepareForUse() throws {}
    func close() {}
}
