import Testing

@testable import IntakeRuntime

@Suite struct GroupCommitStateMachineTests {
    typealias Machine = GroupCommit.StateMachine

    @Test func firstSubmissionWakesTheWriterLaterOnesQueueBehindTheBatch() {
        var machine = Machine(maxWriteSets: 10, maxStatements: 100, maxPending: 100, maxInFlight: 1)
        #expect(machine.submitted(0, statements: 3) == .queuedWakeWriter)
        #expect(machine.nextBatch() == [0])
        #expect(machine.submitted(1, statements: 3) == .queued)
        #expect(machine.submitted(2, statements: 3) == .queued)
        #expect(machine.nextBatch() == nil, "one batch in flight at a time")
        machine.batchFinished()
        #expect(machine.nextBatch() == [1, 2], "everything that arrived meanwhile goes together")
        machine.batchFinished()
        #expect(machine.nextBatch() == nil)
        #expect(machine.isDrained)
    }

    @Test func aSecondBatchGoesBehindTheFirstOnceHalfAsManyWait() {
        var machine = Machine(maxWriteSets: 100, maxStatements: 1000, maxPending: 1000)
        for id in 0..<8 { _ = machine.submitted(id, statements: 1) }
        #expect(machine.nextBatch() == Array(0..<8))
        #expect(machine.submitted(8, statements: 1) == .queued, "1 waiting behind a batch of 8: it waits for more")
        #expect(machine.submitted(9, statements: 1) == .queued)
        #expect(machine.submitted(10, statements: 1) == .queued)
        #expect(machine.nextBatch() == nil)
        #expect(machine.submitted(11, statements: 1) == .queuedWakeWriter, "4 waiting: half the batch in flight")
        #expect(machine.submitted(12, statements: 1) == .queued, "the writer has been told already")
        #expect(machine.nextBatch() == [8, 9, 10, 11, 12])
        for id in 13..<40 { _ = machine.submitted(id, statements: 1) }
        #expect(machine.nextBatch() == nil, "two batches in flight at most")
        machine.batchFinished()
        #expect(machine.nextBatch() == Array(13..<40), "the oldest settled: the next goes behind the other")
        machine.batchFinished()
        machine.batchFinished()
        #expect(machine.isDrained)
    }

    @Test func theWriterIsWokenAgainAfterItTookTheBatch() {
        var machine = Machine(maxWriteSets: 100, maxStatements: 1000, maxPending: 1000)
        #expect(machine.submitted(0, statements: 1) == .queuedWakeWriter)
        #expect(machine.submitted(1, statements: 1) == .queued, "already woken")
        #expect(machine.nextBatch() == [0, 1])
        #expect(machine.submitted(2, statements: 1) == .queuedWakeWriter, "1 waiting, half of 2 in flight")
        #expect(machine.nextBatch() == [2])
        #expect(machine.submitted(3, statements: 1) == .queued, "two in flight")
        machine.batchFinished()
        #expect(machine.nextBatch() == [3], "a batch settled: the writer asks again by itself")
    }

    @Test func aFullBatchGoesBehindAnyBatch() {
        var machine = Machine(maxWriteSets: 4, maxStatements: 1000, maxPending: 1000)
        for id in 0..<100 { _ = machine.submitted(id, statements: 1) }
        #expect(machine.nextBatch() == [0, 1, 2, 3])
        #expect(machine.nextBatch() == [4, 5, 6, 7])
        #expect(machine.nextBatch() == nil)
    }

    @Test func batchesRespectBothBounds() {
        var machine = Machine(maxWriteSets: 3, maxStatements: 10, maxPending: 100)
        for id in 0..<5 { _ = machine.submitted(id, statements: 2) }
        #expect(machine.nextBatch() == [0, 1, 2])
        machine.batchFinished()
        _ = machine.submitted(5, statements: 9)
        #expect(machine.nextBatch() == [3, 4], "adding 9 statements would pass 10")
        machine.batchFinished()
        #expect(machine.nextBatch() == [5])
    }

    @Test func oversizedWriteSetGoesAlone() {
        var machine = Machine(maxWriteSets: 10, maxStatements: 10, maxPending: 100)
        _ = machine.submitted(0, statements: 50)
        _ = machine.submitted(1, statements: 1)
        #expect(machine.nextBatch() == [0])
        machine.batchFinished()
        #expect(machine.nextBatch() == [1])
    }

    @Test func boundedQueueAndShutdown() {
        var machine = Machine(maxWriteSets: 10, maxStatements: 10, maxPending: 2)
        _ = machine.submitted(0, statements: 1)
        _ = machine.submitted(1, statements: 1)
        #expect(machine.submitted(2, statements: 1) == .rejectOverloaded)
        machine.shutDown()
        #expect(machine.submitted(3, statements: 1) == .rejectShutDown)
        #expect(machine.nextBatch() == [0, 1], "queued write sets still commit")
    }
}
