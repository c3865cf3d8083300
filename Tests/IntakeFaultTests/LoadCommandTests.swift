import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// `intake load --url` at a server that is not there (its Postgres and Redis are) says so at once, in one line, with a
/// non-zero exit: the sign-in does not retry a refused connection until the connect timeout
/// (5 s) as the run's own requests do. (The message tells the two apart; the process's
/// timeout only bounds a hang, generously, for a loaded machine.)
@Suite("Faults: intake load without a server")
struct LoadCommandTests {
    @Test func aRefusedConnectionIsReportedAtOnce() async throws {
        let port = try LocalPorts.free()
        // Verification's servers (checked before the run) are there; the HTTP server is not.
        let run = try await IntakeCommand.run(
            [
                "load", "--url", "http://127.0.0.1:\(port)", "--admin-email", "admin@load.local", "--admin-password", "load-password",
                "--duration", "1", "--mix", "create=100", "--quiet",
                "--database-url", try TestServices.databaseURL(), "--redis-url", try TestServices.redisURL(),
            ],
            environment: [:], bare: true, timeout: .seconds(60))
        #expect(run.status == 1)
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(run.output)")
        #expect((lines.first ?? "").hasPrefix("intake: cannot reach http://127.0.0.1:\(port): connection refused"), "\(run.output)")
    }

    /// A report path that cannot be written is refused before the load, not after minutes of
    /// it with a raw Foundation error (hostile review, session 12).
    @Test func anUnwritableReportPathIsRefusedBeforeTheRun() async throws {
        let port = try LocalPorts.free()
        for (flag, path, says) in [
            ("--json", "/nonexistent-\(UUID().uuidString)/r.json", "no directory"), ("--report", NSTemporaryDirectory(), "is a directory"),
        ] {
            let run = try await IntakeCommand.run(
                ["load", "--url", "http://127.0.0.1:\(port)", "--duration", "1", "--quiet", flag, path,
                 "--database-url", try TestServices.databaseURL(), "--redis-url", try TestServices.redisURL()],
                environment: [:], bare: true, timeout: .seconds(60))
            #expect(run.status == 1)
            #expect(run.output == "intake: \(flag) \(path): \(says)" + (says == "no directory" ? " \(URL(fileURLWithPath: path).deletingLastPathComponent().path)" : "") + "\n", "\(run.output)")
        }
    }
}
