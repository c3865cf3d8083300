import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// `intake load --url` at a server that is not there (its Postgres and Redis are) says so at once, in one line, with a
/// non-zero exit: the sign-in does not retry a refused connection until the connect timeout
/// (5 s) as the run's own requests do.
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
            environment: [:], bare: true, timeout: .seconds(4))
        #expect(run.status == 1)
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(run.output)")
        #expect((lines.first ?? "").hasPrefix("intake: cannot reach http://127.0.0.1:\(port): connection refused"), "\(run.output)")
    }
}
