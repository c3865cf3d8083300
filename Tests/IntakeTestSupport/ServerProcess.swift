import AsyncHTTPClient
import Foundation
import IntakeRuntime

/// `intake serve` as a child process on loopback, for tests that crash, stop and restart it.
/// Its output goes to a log file, printed when a start fails.
public actor ServerProcess {
    public let port: Int
    public let environment: [String: String]
    public let logFile: URL
    /// The command `serve` is appended to: the built binary, or another one behind a launcher
    /// (`unshare ...`).
    public let command: [String]
    private var process: Process?
    private let replacesEnvironment: Bool

    public var url: String { "http://127.0.0.1:\(port)" }

    /// The `intake` binary `swift build` made (or `INTAKE_TEST_BINARY`).
    public static func binary() -> URL {
        if let path = ProcessInfo.processInfo.environment["INTAKE_TEST_BINARY"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/intake")
    }

    /// `environment` is merged over this process's own; `replacingEnvironment` uses it alone.
    public init(environment: [String: String], command: [String]? = nil, replacingEnvironment: Bool = false) throws {
        port = try LocalPorts.free()
        self.environment = environment
        self.command = command ?? [Self.binary().path]
        self.replacesEnvironment = replacingEnvironment
        logFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-serve-\(UUID().uuidString).log")
    }

    /// A test that fails before it stops its server (a `#require`, a thrown error) does not
    /// leave it running for the rest of the run: the last reference going kills it.
    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Starts the server and waits until `/healthz` answers.
    public func start(timeout: Duration = .seconds(60)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + ["serve", "--port", "\(port)", "--host", "127.0.0.1"]
        process.environment = replacesEnvironment ? environment : ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if !FileManager.default.fileExists(atPath: logFile.path) { _ = FileManager.default.createFile(atPath: logFile.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw StartFailed(log: (try? String(contentsOf: logFile, encoding: .utf8)) ?? "") }
            if await Self.healthy(url) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StartFailed(log: "not healthy after \(timeout): " + ((try? String(contentsOf: logFile, encoding: .utf8)) ?? ""))
    }

    /// Sends `signal` and waits for the process to end; returns its exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(60)) async throws -> Int32 {
        guard let process else { return 0 }
        kill(process.processIdentifier, signal)
        guard let status = try await ChildProcess.waitForExit(process, timeout: timeout) else {
            kill(process.processIdentifier, SIGKILL)
            throw StartFailed(log: "did not stop within \(timeout) after signal \(signal)")
        }
        self.process = nil
        return status
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    static func healthy(_ url: String) async -> Bool {
        var request = HTTPClientRequest(url: url + "/healthz")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        return response.status == .ok
    }

    public struct StartFailed: Error, CustomStringConvertible {
        public var log: String
        public var description: String { "intake serve failed:\n\(log.suffix(4000))" }
    }
}
