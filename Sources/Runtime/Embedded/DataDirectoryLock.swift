import Foundation
import Synchronization

/// Who owns a data directory's embedded Postgres and Redis. The owner holds an exclusive
/// `flock` on `<data dir>/intake.lock` for as long as it lives, and writes into the file what
/// other processes need to find its servers (`Owner`). The kernel releases the lock when the
/// owner exits, however it exits, so a lock that can be taken means the previous owner is
/// provably gone and whatever it left running may be stopped; a lock that cannot be taken
/// means a live process owns the servers, and nothing but that process may stop them.
public final class DataDirectoryLock: Sendable {
    /// What the lock file says about its holder.
    public struct Owner: Codable, Sendable, Hashable {
        public var pid: Int32
        /// The command that holds it (`serve`, `migrate`, `load`...).
        public var command: String
        public var postgresPort: Int?
        public var redisPort: Int?
        /// Where `intake serve` listens, once it does.
        public var httpURL: String?
        /// The embedded cluster's PGDATA and pgBackRest repository, when it archives.
        public var postgresData: String?
        public var backupRepository: String?

        public init(pid: Int32, command: String, postgresPort: Int? = nil, redisPort: Int? = nil, httpURL: String? = nil) {
            self.pid = pid
            self.command = command
            self.postgresPort = postgresPort
            self.redisPort = redisPort
            self.httpURL = httpURL
        }

        enum CodingKeys: String, CodingKey {
            case pid, command
            case postgresPort = "postgres_port"
            case redisPort = "redis_port"
            case httpURL = "http_url"
            case postgresData = "postgres_data"
            case backupRepository = "backup_repository"
        }

        /// `intake serve (pid 123) on http://127.0.0.1:8080`.
        public var summary: String {
            "intake \(command) (pid \(pid))" + (httpURL.map { " on \($0)" } ?? "")
        }
    }

    public enum Acquisition: Sendable {
        case acquired(DataDirectoryLock)
        /// Another live process holds it; what it wrote, if it wrote anything yet.
        case held(by: Owner?)
    }

    public let file: URL
    /// The holder's record, and the open file whose `flock` is the lock (nil once released).
    private let state: Mutex<(owner: Owner, descriptor: Int32?)>

    private init(file: URL, descriptor: Int32, owner: Owner) {
        self.file = file
        self.state = Mutex((owner, descriptor))
    }

    deinit { release() }

    /// Gives the lock up. The caller has stopped the servers it owned first. Unlocked
    /// explicitly before the close: a child process forked meanwhile shares the open file
    /// until it execs, and a close alone would leave the lock held through it.
    public func release() {
        state.withLock { state in
            if let descriptor = state.descriptor {
                flock(descriptor, LOCK_UN)
                close(descriptor)
            }
            state.descriptor = nil
        }
    }

    /// Takes the lock of `dataDirectory` for `command` without waiting.
    public static func acquire(_ dataDirectory: URL, command: String) throws -> Acquisition {
        try DataDirectory.create(dataDirectory)
        let file = dataDirectory.appendingPathComponent("intake.lock")
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot open \(file.path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw EmbeddedError(code: .dataDirectory, message: "cannot lock \(file.path): \(String(cString: strerror(reason)))")
            }
            return .held(by: readOwner(file))
        }
        let lock = DataDirectoryLock(file: file, descriptor: descriptor, owner: Owner(pid: getpid(), command: command))
        try lock.write()
        return .acquired(lock)
    }

    /// The live holder of `dataDirectory`'s lock, if any, without taking it.
    public static func holder(of dataDirectory: URL) -> Owner? {
        let file = dataDirectory.appendingPathComponent("intake.lock")
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // A shared lock is refused only while an exclusive one is held.
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0 else {
            flock(descriptor, LOCK_UN)
            return nil
        }
        return readOwner(file)
    }

    /// What the holder of `dataDirectory`'s lock wrote, if anyone holds it.
    public static func readOwner(_ file: URL) -> Owner? {
        guard let data = FileManager.default.contents(atPath: file.path), !data.isEmpty else { return nil }
        return try? JSONDecoder().decode(Owner.self, from: data)
    }

    /// Changes what the lock file says (the servers' ports once they run, the HTTP address
    /// once it listens).
    public func update(_ change: (inout Owner) -> Void) throws {
        state.withLock { change(&$0.owner) }
        try write()
    }

    public var current: Owner { state.withLock { $0.owner } }

    private func write() throws {
        try state.withLock { state in
            guard let descriptor = state.descriptor else { return }
            let data = try JSONEncoder().encode(state.owner)
            guard ftruncate(descriptor, 0) == 0,
                data.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, 0) }) == data.count
            else {
                throw EmbeddedError(code: .dataDirectory, message: "cannot write \(file.path): \(String(cString: strerror(errno)))")
            }
        }
    }
}
