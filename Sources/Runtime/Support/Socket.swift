#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few socket checks the blocking clients need, with `poll(2)`.
enum Socket {
    enum Readiness { case ready, timedOut, failed }

    /// Whether `fd` has something to read (data, or EOF) right now.
    static func isReadable(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    /// Waits until `fd` is readable (or also writable, with `write`), at most `timeoutMilliseconds`
    /// (-1 waits forever).
    static func wait(_ fd: Int32, write: Bool, timeoutMilliseconds: Int32) -> Readiness {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN) | (write ? Int16(POLLOUT) : 0), revents: 0)
        while true {
            let result = poll(&descriptor, 1, timeoutMilliseconds)
            if result > 0 { return .ready }
            if result == 0 { return .timedOut }
            if errno != EINTR { return .failed }
        }
    }

    enum Wait { case ready, woken, timedOut, failed }

    /// Like `wait`, also returning `.woken` as soon as `wakeup` is readable (a `WakeupPipe`).
    static func wait(_ fd: Int32, write: Bool, orWakeup wakeup: Int32, timeoutMilliseconds: Int32) -> Wait {
        var descriptors = [
            pollfd(fd: fd, events: Int16(POLLIN) | (write ? Int16(POLLOUT) : 0), revents: 0),
            pollfd(fd: wakeup, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let result = poll(&descriptors, 2, timeoutMilliseconds)
            if result > 0 { return descriptors[0].revents != 0 ? .ready : .woken }
            if result == 0 { return .timedOut }
            if errno != EINTR { return .failed }
        }
    }
}
