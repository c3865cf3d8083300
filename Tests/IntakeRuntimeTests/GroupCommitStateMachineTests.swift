import Testing

@testable import IntakeRuntime

@Suite struct GroupCommitStateMachineTests {
    typealias Machine = GroupCommit.StateMachine

    @Test func firstSubmissionWakesTheWriterLaterOnesQueueBehindTheBatch() {
        var machine = Machine(maxWriteSets: 10, maxStatements: 100, maxPending: 100)
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
