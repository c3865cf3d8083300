#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A self-pipe: wakes a thread blocked in `poll(2)` from any other thread. Signals coalesce
/// (both ends are non-blocking: a full pipe already holds a wake-up).
final class WakeupPipe: Sendable {
    /// The end to poll for reading.
    let readEnd: Int32
    private let writeEnd: Int32

    /// Nil when the process has no file descriptors left (`errno` says why).
    init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        // Not atomic (Glibc's module does not export `pipe2`): a child spawned in between
        // could inherit the ends. Pipes are made when a writer starts, before it serves.
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        (readEnd, writeEnd) = (fds[0], fds[1])
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe: the next `poll` waits for a new signal.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    /// Waits at most `timeoutMilliseconds` for a signal (drained if it came).
    func wait(timeoutMilliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        while true {
            let result = poll(&descriptor, 1, timeoutMilliseconds)
            if result > 0 { drain(); return true }
            if result == 0 || errno != EINTR { return false }
        }
    }
}
