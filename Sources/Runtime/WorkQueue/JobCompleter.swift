import DequeModule
import Logging
import Metrics
import Synchronization

/// Writes finished attempts back in batches: one `UPDATE ... FROM unnest(...)` for every
/// finalization that arrived while the previous write was in flight.
///
/// Executors hand over their finalization and move on; when `maxPending` finalizations wait
/// unwritten, `submit` suspends (backpressure) instead of letting the buffer grow. A failed
/// write is retried with backoff: nothing handed over is dropped. If the process dies first,
/// the jobs are still `running` in the table and the rescuer runs them again.
final class JobCompleter: Sendable {
    private struct State: ~Copyable {
        var pending = Deque<JobFinalization>()
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var stopped = false
    }

    private let client: PostgresClient
    private let maxBatch: Int
    private let maxPending: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let batchSizes = Recorder(label: "intake_jobs_completion_batch_size")
    private let written = Mutex((batches: 0, finalizations: 0))

    init(client: PostgresClient, maxBatch: Int = 2000, maxPending: Int = 10_000, logger: Logger) {
        self.client = client
        self.maxBatch = maxBatch
        self.maxPending = maxPending
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// How many batches have been written (tests check batching with it).
    var batchesWritten: Int { written.withLock { $0.batches } }
    /// How many finished attempts have been written.
    var finalizationsWritten: Int { written.withLock { $0.finalizations } }

    func submit(_ finalization: JobFinalization) async {
        let mustWait = state.withLock { state -> Bool in
            state.pending.append(finalization)
            return state.pending.count > maxPending && !state.stopped
        }
        wake.yield()
        if mustWait {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending.count <= maxPending || state.stopped { return true }
                    state.spaceWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Writes batches until `stop()`, then writes what is left and returns.
    func run() async {
        for await _ in wakeups {
            await drain()
            if state.withLock({ $0.stopped && $0.pending.isEmpty }) { break }
        }
        await drain()
    }

    /// Asks `run()` to finish after writing everything submitted so far.
    func stop() {
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.spaceWaiters.removeAll() }
            return state.spaceWaiters
        }
        waiters.forEach { $0.resume() }
        wake.yield()
        wake.finish()
    }

    private func drain() async {
        var failures = 0
        while true {
            let batch = state.withLock { state -> [JobFinalization] in
                Array(state.pending.prefix(maxBatch))
            }
            if batch.isEmpty { return }
            do {
                try await client.query(JobQueries.finalize, Self.parameters(batch))
                batchSizes.record(batch.count)
                written.withLock { $0.batches += 1; $0.finalizations += batch.count }
                failures = 0
                let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    state.pending.removeFirst(batch.count)
                    guard state.pending.count <= maxPending else { return [] }
                    defer { state.spaceWaiters.removeAll() }
                    return state.spaceWaiters
                }
                waiters.forEach { $0.resume() }
            } catch {
                failures += 1
                let delay = Duration.milliseconds(min(50 << min(failures, 6), 2000))
                logger.warning(
                    "writing job completions failed; retrying",
                    metadata: ["error": "\(error)", "batch": "\(batch.count)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    static func parameters(_ batch: [JobFinalization]) -> [PostgresValue] {
        var ids: [Int64] = []
        var attempts: [Int32] = []
        var states: [String] = []
        var delays: [Int64] = []
        var errors: [String] = []
        for finalization in batch {
            ids.append(finalization.jobID)
            attempts.append(Int32(clamping: finalization.attempt))
            errors.append(finalization.error ?? "")
            switch finalization.kind {
            case .completed:
                states.append(JobState.completed.rawValue)
                delays.append(0)
            case .discarded:
                states.append(JobState.discarded.rawValue)
                delays.append(0)
            case .retry(let after):
                states.append(JobState.retryable.rawValue)
                delays.append(after.nanoseconds / 1_000_000)
            }
        }
        return [.int64Array(ids), .int32Array(attempts), .textArray(states), .int64Array(delays), .textArray(errors)]
    }
}
