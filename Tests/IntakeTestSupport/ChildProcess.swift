import Foundation

/// Runs programs to their end from async code, without blocking a cooperative thread, and
/// gets their exit status even when Foundation does not reap them (a child whose exit raced
/// with other children's can stay a zombie for good).
public enum ChildProcess {
    /// Exit status (128 + signal when killed); output to `output` (nil: discarded).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: URL? = nil,
        timeout: Duration = .seconds(300)
    ) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        var handle: FileHandle?
        if let output {
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            handle = try FileHandle(forWritingTo: output)
        }
        process.standardOutput = handle ?? FileHandle.nullDevice
        process.standardError = handle ?? FileHandle.nullDevice
        defer { try? handle?.close() }
        try process.run()
        let waited: Int32?
        do {
            waited = try await waitForExit(process, timeout: timeout)
        } catch {
            // Cancelled (a test that failed midway): the child does not outlive its caller.
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
        guard let status = waited else {
            kill(process.processIdentifier, SIGKILL)
            throw ServerProcess.StartFailed(log: "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        return status
    }

    /// Waits for `process` to end, at most `timeout`; its exit status, or nil on timeout. A
    /// zombie Foundation leaves unreaped for a second is reaped here, for its real status.
    public static func waitForExit(_ process: Process, timeout: Duration) async throws -> Int32? {
        let pid = process.processIdentifier
        let deadline = ContinuousClock.now + timeout
        var exitedAt: ContinuousClock.Instant?
        while process.isRunning {
            if exited(pid) {
                let since = exitedAt ?? .now
                exitedAt = since
                var status: Int32 = 0
                if ContinuousClock.now - since > .seconds(1), waitpid(pid, &status, WNOHANG) == pid {
                    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                }
            }
            if ContinuousClock.now > deadline { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Whether `pid` has exited (gone, or a zombie nobody reaped yet).
    public static func exited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first == "Z"
    }
}

/// The `intake` command line, run to its end with the given environment over this process's:
/// what a user types in a second shell.
public enum IntakeCommand {
    /// `bare`: no INTAKE_* setting of this process is passed on, only `environment`'s (the
    /// tools' locations, `INTAKE_DUCKDB` and `INTAKE_PG_BINDIR`, still are).
    public static func run(
        _ arguments: [String], environment: [String: String], bare: Bool = false, timeout: Duration = .seconds(300)
    ) async throws -> (status: Int32, output: String) {
        var merged = ProcessInfo.processInfo.environment
        if bare { merged = merged.filter { !$0.key.hasPrefix("INTAKE_") || $0.key == "INTAKE_DUCKDB" || $0.key == "INTAKE_PG_BINDIR" } }
        merged.merge(environment) { $1 }
        let output = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-cli-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: output) }
        let status = try await ChildProcess.run(ServerProcess.binary().path, arguments, environment: merged, output: output, timeout: timeout)
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
}
