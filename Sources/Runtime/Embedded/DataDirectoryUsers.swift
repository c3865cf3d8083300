import Foundation
import Synchronization

/// The processes using the embedded servers of a data directory that another process owns
/// (`DataDirectoryLock`). Each holds a shared `flock` on `<data dir>/intake.users` for as long
/// as it uses them; the owner takes it exclusively before it stops them, so it waits until
/// every user is done (hostile review, session 13: an owner that finished its own command
/// stopped Postgres under another command, which then retried for ever). The kernel drops a
/// user's lock when it exits, however it exits.
public final class DataDirectoryUsers: Sendable {
    /// The open file whose `flock` is held (nil once released).
    private let descriptor: Mutex<Int32?>

    private init(descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    public func release() {
        descriptor.withLock { descriptor in
            if let open = descriptor {
                flock(open, LOCK_UN)
                close(open)
            }
            descriptor = nil
        }
    }

    /// Joins the users of the servers that process `owner` runs for `dataDirectory`; nil when
    /// it is stopping them, or no longer holds the directory by the time this one joined
    /// (then nothing would keep its servers up: look again).
    public static func join(_ dataDirectory: URL, whileOwnedBy owner: Int32) throws -> DataDirectoryUsers? {
        guard let joined = try join(dataDirectory) else { return nil }
        guard DataDirectoryLock.holder(of: dataDirectory)?.pid == owner else {
            joined.release()
            return nil
        }
        return joined
    }

    /// Joins the users of `dataDirectory`'s servers; nil while its owner is stopping them
    /// (it holds the file exclusively).
    public static func join(_ dataDirectory: URL) throws -> DataDirectoryUsers? {
        let descriptor = try open(dataDirectory)
        guard flock(descriptor, LOCK_SH | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else { throw lockError(dataDirectory, reason) }
            return nil
        }
        return DataDirectoryUsers(descriptor: descriptor)
    }

    /// For the owner about to stop its servers: waits until no user is left, then holds the
    /// file (release it once the servers are stopped and the data directory's lock is given
    /// up). `waiting` is called once if it has to wait.
    public static func awaitLast(_ dataDirectory: URL, waiting: () -> Void) async throws -> DataDirectoryUsers {
        let descriptor = try open(dataDirectory)
        var told = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            guard reason == EWOULDBLOCK else {
                close(descriptor)
                throw lockError(dataDirectory, reason)
            }
            if !told {
                waiting()
                told = true
            }
            // Not `Task.sleep`: a shutdown may have been cancelled, and a cancelled sleep
            // returns at once — the wait would spin. The owner waits for its users regardless.
            await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(200)) { resumed.resume() }
            }
        }
        return DataDirectoryUsers(descriptor: descriptor)
    }

    private static func open(_ dataDirectory: URL) throws -> Int32 {
        let file = dataDirectory.appendingPathComponent("intake.users").path
        let descriptor = Glibc.open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot open \(file): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    private static func lockError(_ dataDirectory: URL, _ reason: Int32) -> EmbeddedError {
        EmbeddedError(code: .dataDirectory, message: "cannot lock \(dataDirectory.appendingPathComponent("intake.users").path): \(String(cString: strerror(reason)))")
    }
}
