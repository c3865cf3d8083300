import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// `intake pay` against a server that is not there says so at once, in one line, with a
/// non-zero exit — AsyncHTTPClient by default retries a refused connection until the
/// request's 30 s deadline.
@Suite("Faults: intake pay without a server")
struct PayCommandTests {
    @Test func aRefusedConnectionIsReportedAtOnce() async throws {
        let port = try LocalPorts.free()
        let run = try await IntakeCommand.run(
            [
                "pay", UUID().uuidString.lowercased(), "--url", "http://127.0.0.1:\(port)", "--amount", "3.10",
                "--webhook-secret", "pay-command-secret",
            ],
            environment: [:], bare: true, timeout: .seconds(60))
        #expect(run.status == 1)
        let lines = run.output.split(separator: "\n").map(String.init)
        let expected = "intake: cannot reach http://127.0.0.1:\(port): connection refused"
        #expect(lines.count == 1, "\(run.output)")
        let first = lines.first ?? ""
        #expect(first.hasPrefix(expected), "\(run.output)")
    }
}
