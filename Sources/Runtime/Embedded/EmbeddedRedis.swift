import Foundation
import Logging

/// A private Redis server run from the installed `redis-server`, with its data (AOF on) under
/// `dataDirectory/redis`, on a free port of 127.0.0.1, protected by a generated password.
public struct EmbeddedRedis: Sendable {
    /// `redis://:password@127.0.0.1:PORT/0`.
    public let url: String
    public let port: Int
    public let directory: URL
    let pid: Int32
    let logger: Logger

    /// `port`: nil picks a free one; a restart that clients must find again passes the old one.
    public static func start(dataDirectory: URL, port: Int? = nil, logger: Logger = Logger(label: "intake.embedded")) async throws -> EmbeddedRedis {
        let binary = try Self.binary()
        try DataDirectory.create(dataDirectory)
        let password = try DataDirectory.secret(dataDirectory.appendingPathComponent("redis.password"))
        let directory = dataDirectory.appendingPathComponent("redis")
        try DataDirectory.create(directory, mode: 0o700)
        let pidFile = directory.appendingPathComponent("redis.pid")
        if let stale = Self.runningPID(pidFile) {
            // The caller holds the data directory's lock: the process that started it is gone.
            logger.warning("recovering an embedded Redis whose owner died: stopping it", metadata: ["pid": "\(stale)"])
            await Self.terminate(stale)
        }
        let port = try port ?? LocalPorts.free()
        // The password goes in a config file, not on the command line where `ps` shows it.
        let config = directory.appendingPathComponent("redis.conf")
        let settings = """
            # Written by intake on each start.
            port \(port)
            bind 127.0.0.1
            protected-mode yes
            dir \(directory.path)
            appendonly yes
            appendfsync everysec
            save ""
            daemonize yes
            pidfile \(pidFile.path)
            logfile \(directory.appendingPathComponent("redis.log").path)
            requirepass \(password)

            """
        guard FileManager.default.createFile(atPath: config.path, contents: Data(settings.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot write \(config.path)")
        }
        try await Subprocess.check(binary, [config.path])
        let url = url(password: password, port: port)
        try await Self.waitUntilReady(url: url)
        guard let pid = Self.runningPID(pidFile) else {
            throw EmbeddedError(code: .notReady, message: "redis-server started but wrote no pid file at \(pidFile.path)")
        }
        logger.info("embedded Redis started", metadata: ["port": "\(port)", "data": "\(directory.path)"])
        return EmbeddedRedis(url: url, port: port, directory: directory, pid: pid, logger: logger)
    }

    /// The URL of the embedded server of `dataDirectory` running on `port` (another
    /// process's, which this one attaches to).
    public static func url(dataDirectory: URL, port: Int) throws -> String {
        url(password: try DataDirectory.existingSecret(dataDirectory.appendingPathComponent("redis.password")), port: port)
    }

    static func url(password: String, port: Int) -> String {
        "redis://:\(password)@127.0.0.1:\(port)/0"
    }

    /// Stops the server; Redis flushes its append-only file on SIGTERM.
    public func stop() async {
        await Self.terminate(pid)
        logger.info("embedded Redis stopped", metadata: ["port": "\(port)"])
    }

    static func binary() throws -> String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw EmbeddedError(
            code: .missingBinary,
            message: "redis-server not found: install the Debian package redis-server (apt-get install -y redis-server), "
                + "or set INTAKE_REDIS_URL to use an existing server")
    }

    private static func runningPID(_ pidFile: URL) -> Int32? {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, isAlive(pid)
        else { return nil }
        return pid
    }

    /// Whether `pid` runs. A daemon's parent is init, and where init does not reap (some
    /// containers) an exited daemon stays a zombie: that counts as gone.
    private static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    private static func terminate(_ pid: Int32) async {
        guard kill(pid, SIGTERM) == 0 else { return }
        for _ in 0..<200 {
            guard isAlive(pid) else { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func waitUntilReady(url: String) async throws {
        let client = RedisClient(configuration: try RedisConfiguration(url: url, poolSize: 1, timeout: .seconds(1)))
        defer { client.shutdown() }
        var lastError: (any Error)?
        for _ in 0..<100 {
            do {
                if try await client.command("PING") == .status("PONG") { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EmbeddedError(code: .notReady, message: "redis-server did not answer within 10 s: \(lastError.map { "\($0)" } ?? "no reply")")
    }
}
