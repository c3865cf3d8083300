import Foundation
import Synchronization

/// A headless Chromium (Debian's `chromium`, or `INTAKE_TEST_CHROMIUM`) driven over the
/// DevTools protocol: one page, opened on a URL, read with JavaScript, photographed, and
/// every console error, uncaught exception and failed load it reports kept. Tests that need
/// it fail when it is missing — they never skip.
public final class HeadlessChromium: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let process: Process
    private let profile: URL
    private let socket: WebSocketClient
    private let session: String
    private let state = Mutex(State())

    struct State {
        var nextID = 1
        var consoleErrors: [String] = []
    }

    /// The browser binary: `INTAKE_TEST_CHROMIUM`, else `chromium` on the usual paths.
    public static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["INTAKE_TEST_CHROMIUM"] { return path }
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw Failure(description: "no chromium: install the Debian package chromium (scripts/test does), or set INTAKE_TEST_CHROMIUM")
    }

    /// Starts the browser with one blank page and attaches to it.
    public static func start(width: Int = 1400, height: Int = 1100) async throws -> HeadlessChromium {
        let profile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        var arguments = [
            "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
            "--remote-debugging-port=0", "--user-data-dir=\(profile.path)", "--window-size=\(width),\(height)", "about:blank",
        ]
        // As root (CI) Chromium refuses to start with its sandbox.
        if getuid() == 0 { arguments.insert("--no-sandbox", at: 0) }
        process.arguments = arguments
        let log = profile.appendingPathComponent("chromium.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle.close()
        // Chromium writes the port it chose, and the browser's WebSocket path, to this file.
        let portFile = profile.appendingPathComponent("DevToolsActivePort")
        let deadline = ContinuousClock.now + .seconds(60)
        var lines: [Substring] = []
        while lines.count < 2 {
            guard process.isRunning, ContinuousClock.now < deadline else {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw Failure(description: "chromium did not start: \((try? String(contentsOf: log, encoding: .utf8))?.suffix(3000) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(50))
            lines = ((try? String(contentsOf: portFile, encoding: .utf8)) ?? "").split(separator: "\n")
        }
        guard let port = Int(lines[0]) else { throw Failure(description: "DevToolsActivePort: \(lines)") }
        let path = String(lines[1])
        let socket = try await LoopbackSocket.offPool { try WebSocketClient(port: port, path: path) }
        let browser = HeadlessChromium(process: process, profile: profile, socket: socket, session: "")
        let target = try await browser.call("Target.createTarget", ["url": "about:blank"])
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "Target.createTarget: \(target)") }
        let attached = try await browser.call("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        guard let session = attached["sessionId"] as? String else { throw Failure(description: "Target.attachToTarget: \(attached)") }
        let page = HeadlessChromium(process: process, profile: profile, socket: socket, session: session)
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] { _ = try await page.call(domain) }
        _ = try await page.call("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
        return page
    }

    private init(process: Process, profile: URL, socket: WebSocketClient, session: String) {
        self.process = process
        self.profile = profile
        self.socket = socket
        self.session = session
    }

    /// Ends the browser and removes its profile.
    public func stop() async {
        kill(process.processIdentifier, SIGTERM)
        if (try? await ChildProcess.waitForExit(process, timeout: .seconds(10))) == nil { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: profile)
    }

    /// Console errors, uncaught exceptions and failed loads seen so far.
    public var consoleErrors: [String] { state.withLock { $0.consoleErrors } }

    /// Sends one command to the page (or the browser) and waits for its result; events that
    /// arrive in between are looked at for errors.
    @discardableResult
    public func call(_ method: String, _ parameters: [String: any Sendable] = [:]) async throws -> [String: Any] {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if !session.isEmpty { message["sessionId"] = session }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)
        let reply = try await LoopbackSocket.offPool { [self] () throws -> String in
            try socket.send(text)
            while true {
                let incoming = try socket.receive()
                guard let object = try? JSONSerialization.jsonObject(with: Data(incoming.utf8)) as? [String: Any] else { continue }
                if object["id"] as? Int == id { return incoming }
                if let problem = Self.error(in: object) { self.state.withLock { $0.consoleErrors.append(problem) } }
            }
        }
        let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any] ?? [:]
        if let error = object["error"] { throw Failure(description: "\(method): \(error)") }
        return object["result"] as? [String: Any] ?? [:]
    }

    /// What a DevTools event reports as an error on the page, if it does.
    static func error(in event: [String: Any]) -> String? {
        let parameters = event["params"] as? [String: Any] ?? [:]
        switch event["method"] as? String {
        case "Runtime.consoleAPICalled" where ["error", "assert"].contains(parameters["type"] as? String):
            let arguments = (parameters["args"] as? [[String: Any]] ?? []).map { "\($0["value"] ?? $0["description"] ?? "")" }
            return "console.\(parameters["type"] ?? ""): \(arguments.joined(separator: " "))"
        case "Runtime.exceptionThrown":
            let details = parameters["exceptionDetails"] as? [String: Any] ?? [:]
            return "uncaught: \((details["exception"] as? [String: Any])?["description"] ?? details["text"] ?? "")"
        case "Log.entryAdded":
            let entry = parameters["entry"] as? [String: Any] ?? [:]
            guard entry["level"] as? String == "error" else { return nil }
            return "\(entry["source"] ?? "log"): \(entry["text"] ?? "") \(entry["url"] ?? "")"
        default:
            return nil
        }
    }

    /// Opens `url` and waits until the page has loaded.
    public func open(_ url: String) async throws {
        _ = try await call("Page.navigate", ["url": url])
        try await waitFor("document.readyState === 'complete' && location.href !== 'about:blank'", "\(url) loads")
    }

    /// The value of a JavaScript expression on the page (strings, numbers, booleans).
    public func evaluate(_ expression: String) async throws -> Any? {
        let result = try await call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    public func text(_ expression: String) async throws -> String { "\(try await evaluate(expression) ?? "")" }

    /// Waits until the expression is true on the page.
    public func waitFor(_ expression: String, _ description: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await evaluate(expression)) as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "timed out after \(timeout) waiting until \(description) (\(expression)); at \(try await text("location.href"))")
    }

    /// A PNG of the whole page, written to `file`.
    public func screenshot(to file: URL) async throws {
        let result = try await call("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = result["data"] as? String, let png = Data(base64Encoded: base64) else { throw Failure(description: "no screenshot") }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try png.write(to: file)
    }
}
