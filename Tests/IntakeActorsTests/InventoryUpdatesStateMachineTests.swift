import Foundation
import Testing

@testable import IntakeActors

@Suite struct InventoryUpdatesStateMachineTests {
    typealias Machine = InventoryUpdates.StateMachine

    @Test func changesInOneWindowScheduleOneFlushAndKeepTheFirstTrace() {
        var m = Machine()
        let p = UUID(), q = UUID()
        let first = m.changed([p], traceparent: "first")
        let second = m.changed([p, q], traceparent: "second")
        #expect(first && !second, "one flush scheduled for the window")
        let due = m.flushDue()
        #expect(due == [p: "first", q: "second"])
        let again = m.flushSucceeded()
        #expect(!again, "nothing changed while it ran")
        let empty = m.flushDue()
        #expect(empty.isEmpty)
    }

    @Test func changesWhileAFlushRunsAreOwedByTheNext() {
        var m = Machine()
        let p = UUID()
        _ = m.changed([p], traceparent: nil)
        _ = m.flushDue()
        let scheduled = m.changed([p], traceparent: "later")
        #expect(!scheduled, "the running flush schedules the next when it ends")
        let next = m.flushSucceeded()
        #expect(next)
        let due = m.flushDue()
        #expect(due == [p: "later"])
    }

    @Test func aFailedFlushOwesItsProductsAgainWithTheirFirstTraces() {
        var m = Machine()
        let p = UUID(), q = UUID()
        _ = m.changed([p], traceparent: "p-first")
        let due = m.flushDue()
        _ = m.changed([p, q], traceparent: "during")
        let retry = m.flushFailed(due)
        #expect(retry)
        let owed = m.flushDue()
        #expect(owed == [p: "p-first", q: "during"])
        let nothing = m.flushFailed([:])
        #expect(!nothing, "nothing owed: nothing to schedule")
    }
}
