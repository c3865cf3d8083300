import Synchronization

/// Sends the commands of concurrent callers together, as one pipeline.
///
/// The first caller to find nothing in flight starts a sender, which takes every command
/// queued so far and sends them in one round trip, then the next lot, until the queue is
/// empty; each caller gets its own commands' replies. Under load, many small requests (a
/// session lookup each, a cache invalidation each) cost one round trip and one thread hop per
/// lot instead of one per request; alone, a caller pays about what a direct call costs.
public final class RedisBatcher: Sendable {
    private struct Waiter {
        var commands: [RedisCommand]
        var continuation: CheckedContinuation<[RedisValue], any Error>
    }

    private struct State {
        var queued: [Waiter] = []
        var sending = false
    }

    private let redis: RedisClient
    private let maxCommands: Int
    private let state = Mutex(State())

    public init(redis: RedisClient, maxCommandsPerPipeline: Int = 1000) {
        self.redis = redis
        self.maxCommands = maxCommandsPerPipeline
    }

    /// The replies to `commands`, in order (error replies included, as values).
    public func send(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        if commands.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let startSender = state.withLock { state -> Bool in
                state.queued.append(Waiter(commands: commands, continuation: continuation))
                if state.sending { return false }
                state.sending = true
                return true
            }
            if startSender { Task { await self.sendQueued() } }
        }
    }

    private func sendQueued() async {
        while true {
            let lot = state.withLock { state -> [Waiter] in
                var taken = 0
                var count = 0
                while taken < state.queued.count, count == 0 || count + state.queued[taken].commands.count <= maxCommands {
                    count += state.queued[taken].commands.count
                    taken += 1
                }
                let lot = Array(state.queued.prefix(taken))
                state.queued.removeFirst(taken)
                if lot.isEmpty { state.sending = false }
                return lot
            }
            if lot.isEmpty { return }
            do {
                let replies = try await redis.pipeline(lot.flatMap(\.commands))
                var offset = 0
                for waiter in lot {
                    waiter.continuation.resume(returning: Array(replies[offset..<offset + waiter.commands.count]))
                    offset += waiter.commands.count
                }
            } catch {
                // A lot that timed out found Redis not answering: the callers that queued
                // behind it fail with it rather than each wait out a timeout of their own.
                var failed = lot
                if let error = error as? RedisError, error.code == .timeout {
                    failed += state.withLock { state in
                        defer { state.queued.removeAll() }
                        return state.queued
                    }
                }
                failed.forEach { $0.continuation.resume(throwing: error) }
            }
        }
    }
}
