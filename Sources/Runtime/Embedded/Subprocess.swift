import Foundation

/// Runs a helper program (initdb, pg_ctl, redis-server) to completion off the cooperative
/// pool, capturing its combined output.
enum Subprocess {
    struct Result: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `executable` with `arguments`; with `user`, as that user through `runuser` (only
    /// meaningful when running as root).
    static func run(_ executable: String, _ arguments: [String], as user: String? = nil) async throws -> Result {
        let thread = BlockingThread(name: "subprocess")
        defer { thread.stop() }
        return try await thread.run {
            let argv = user.map { ["/usr/sbin/runuser", "-u", $0, "--", executable] } ?? [executable]
            return try spawnAndWait(argv + arguments)
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; Swift's Glibc
    /// module does not import it), looked up at run time; without it nothing is added.
    private static func closeFrom(_ lowest: Int32, in actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, lowest)
    }

    /// `posix_spawn` + `waitpid` on the calling (dedicated) thread. Output goes to a file, not
    /// a pipe: daemons the program starts (pg_ctl's postmaster, redis-server) inherit the
    /// descriptor, and a pipe would never reach EOF.
    private static func spawnAndWait(_ argv: [String]) throws -> Result {
        let outputPath = NSTemporaryDirectory() + "intake-subprocess-\(UUID().uuidString).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process's: a listening HTTP socket inherited by a daemon (or a
        // long pgBackRest backup) would keep the port taken after intake dies.
        closeFrom(3, in: &actions)
        // The child starts with no blocked signals and default handlers, whatever this
        // thread had: a daemon that inherited a blocked SIGTERM could never be stopped.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid = pid_t()
        let spawned = withCStrings(argv) { arguments in
            let mutableArguments = UnsafeRawPointer(arguments).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)
            return posix_spawn(&pid, argv[0], &actions, &attributes, mutableArguments, environ)
        }
        guard spawned == 0 else {
            throw EmbeddedError(code: .commandFailed, message: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else {
                throw EmbeddedError(code: .commandFailed, message: "waitpid for \(argv[0]) failed: errno \(errno)")
            }
        }
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Result(status: exitStatus, output: output)
    }

    /// Like `run`, but a non-zero exit throws with the program's output.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String], as user: String? = nil) async throws -> String {
        let result = try await run(executable, arguments, as: user)
        guard result.status == 0 else {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw EmbeddedError(
                code: .commandFailed,
                message: "\(name) \(arguments.joined(separator: " ")) exited with \(result.status): \(result.output.trimmingTrailingWhitespace())")
        }
        return result.output
    }
}

/// Why an embedded server could not be set up, started or stopped.
public struct EmbeddedError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A server binary is not installed; the message names the Debian package.
        public static let missingBinary = Code("missingBinary")
        /// A helper program (initdb, pg_ctl, redis-server) failed.
        public static let commandFailed = Code("commandFailed")
        /// The server started but never answered.
        public static let notReady = Code("notReady")
        /// The data directory cannot be used.
        public static let dataDirectory = Code("dataDirectory")
        /// Another live process owns the data directory's embedded servers.
        public static let inUse = Code("inUse")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
