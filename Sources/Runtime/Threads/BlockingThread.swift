import DequeModule
import Dispatch
import Foundation
import Synchronization

/// One dedicated OS thread that runs blocking work — libpq and hiredis calls — off Swift's
/// cooperative thread pool.
///
/// Work runs one closure at a time, in submission order. Async callers suspend on a
/// continuation while their closure runs, so a slow database round trip never occupies a
/// cooperative thread.
final class BlockingThread: Sendable {
    private typealias Job = @Sendable () -> Void

    private struct State: ~Copyable {
        var jobs = Deque<Job>()
        var stopped = false
    }

    private let state = Mutex(State())
    /// Counts queued jobs plus one for the stop request; the thread waits on it when idle.
    private let signal = DispatchSemaphore(value: 0)
    let name: String

    init(name: String) {
        self.name = name
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on this thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = submit {
                continuation.resume(with: Result { try body() })
            }
            if !accepted {
                continuation.resume(throwing: BlockingThreadStopped(name: name))
            }
        }
    }

    /// Queues `job`; returns false when the thread has been stopped.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { signal.signal() }
        return accepted
    }

    /// Lets the jobs already queued finish, then ends the thread. Later submissions are refused.
    func stop() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        if wasRunning { signal.signal() }
    }

    /// Sleeps the calling thread in short steps, so that a stop request is honoured quickly.
    static func sleep(_ duration: Duration, unless isStopped: () -> Bool) {
        var remaining = duration
        while remaining > .zero, !isStopped() {
            let step = min(remaining, .milliseconds(50))
            usleep(UInt32(step.nanoseconds / 1000))
            remaining -= step
        }
    }

    private func loop() {
        while true {
            signal.wait()
            let next: Job?? = state.withLock { state in
                if let job = state.jobs.popFirst() { return .some(job) }
                return state.stopped ? .none : .some(nil)
            }
            switch next {
            case .some(.some(let job)): job()
            case .some(.none): continue
            case .none: return
            }
        }
    }
}

/// Raised when work is submitted to a thread that has already been stopped.
struct BlockingThreadStopped: Error, CustomStringConvertible {
    var name: String
    var description: String { "thread \(name) has been stopped" }
}
