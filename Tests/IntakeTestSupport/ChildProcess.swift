import Foundation

/// Runs a program to its end from async code, without blocking a cooperative thread, and
/// gets its exit status even when Foundation does not reap it (a child whose exit raced with
/// other children's can stay a zombie: see `ServerProcess.stop`).
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
        let pid = process.processIdentifier
        let deadline = ContinuousClock.now + timeout
        var exitedAt: ContinuousClock.Instant?
        while process.isRunning {
            if ServerProcess.exited(pid) {
                let since = exitedAt ?? .now
                exitedAt = since
                var status: Int32 = 0
                if ContinuousClock.now - since > .seconds(1), waitpid(pid, &status, WNOHANG) == pid {
                    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                }
            }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                throw ServerProcess.StartFailed(log: "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}
