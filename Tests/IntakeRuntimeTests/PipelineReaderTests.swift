import Testing

@testable import IntakeRuntime

/// The bookkeeping that keeps pipelined results matched to their statements.
@Suite struct PipelineReaderTests {
    @Test func neverAsksForAResultOfAStatementNotYetSent() {
        var reader = PipelineReader(statementCount: 2)
        #expect(!reader.expectsResult)
        reader.sent = 1
        #expect(reader.expectsResult)
        reader.statementFinished()
        #expect(reader.results.count == 1)
        #expect(!reader.expectsResult, "statement 2 is not sent yet: a NULL now would end nothing")
        reader.sent = 2
        reader.statementFinished()
        #expect(!reader.expectsResult, "the Sync is not sent yet")
        reader.syncSent = true
        #expect(reader.expectsResult)
        reader.syncReceived = true
        #expect(!reader.expectsResult)
        #expect(reader.results.count == 2)
    }

    @Test func nullAfterTheLastStatementEndsNothing() {
        var reader = PipelineReader(statementCount: 1)
        reader.sent = 1
        reader.statementFinished()
        reader.syncSent = true
        reader.statementFinished()  // a failed commit's error is followed by a NULL
        #expect(reader.results.count == 1)
        #expect(reader.expectsResult, "still waiting for the Sync")
    }
}
