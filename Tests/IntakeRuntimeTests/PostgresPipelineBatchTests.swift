import Testing

@testable import IntakeRuntime

@Suite struct PostgresPipelineBatchTests {
    /// Every task waiting for a batch gets its outcome (a second waiter once replaced the
    /// first, which then waited for ever).
    @Test func everyTaskWaitingForABatchGetsItsOutcome() async throws {
        let batch = PostgresPipeline.Batch([], onComplete: {})
        let waiters = (0..<3).map { _ in Task { await batch.outcome() } }
        while batch.waiting < 3 { await Task.yield() }
        batch.complete(.success([]))
        for waiter in waiters {
            guard case .success = await waiter.value else {
                Issue.record("a waiter got a failure")
                continue
            }
        }
        guard case .success = await batch.outcome() else {
            Issue.record("a late waiter got a failure")
            return
        }
    }
}
