import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// The `intake` binary is the whole product: copied alone to another directory, with its build
/// directory out of reach, it migrates a new database and serves the OpenAPI document and the
/// dashboard script. (A SwiftPM resource bundle would be looked up beside the binary, then in
/// the build directory, and `Bundle.module` crashes when neither is there.)
@Suite("The intake binary runs alone", .serialized)
struct StandaloneBinaryTests {
    /// `sh -c SCRIPT` run with the repository's `.build` hidden under an empty tmpfs in a mount
    /// namespace of its own (`unshare -rm`), when this machine allows one; nil if it does not.
    static func hidingBuildDirectory() async throws -> [String]? {
        let probe = try await ChildProcess.run("/usr/bin/unshare", ["-rm", "true"], timeout: .seconds(30))
        guard probe == 0 else { return nil }
        let build = DeployFilesTests.root.appendingPathComponent(".build").path
        return ["/usr/bin/unshare", "-rm", "sh", "-c", #"mount -t tmpfs none "$0" && exec "$@""#, build]
    }

    @Test func aCopyOfTheBinaryAloneMigratesAndServesItsFiles() async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("intake")
        try FileManager.default.copyItem(at: ServerProcess.binary(), to: binary)
        let prefix = try await Self.hidingBuildDirectory()
        if prefix == nil { print("unshare -rm is not allowed here: the build directory stays visible to the copy") }
        let command = (prefix ?? []) + [binary.path]

        try await TestServices.withDatabase { url in
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("INTAKE_") }
            environment.merge([
                "INTAKE_DATABASE_URL": url, "INTAKE_REDIS_URL": try TestServices.redisURL(),
                "INTAKE_EVENT_STREAM": "alone:\(UUID().uuidString)", "INTAKE_DATA_DIR": directory.appendingPathComponent("data").path,
                "INTAKE_LOG_LEVEL": "warning", "INTAKE_BCRYPT_COST": "4",
            ]) { $1 }
            let log = directory.appendingPathComponent("migrate.log")
            let status = try await ChildProcess.run(command[0], Array(command.dropFirst()) + ["migrate"], environment: environment, output: log)
            let printed = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(status == 0, "\(printed)")
            for module in ["runtime 1_work_queue", "orders 1_catalog_and_orders", "data 1_etl_runs", "server 1_idempotency_records"] {
                #expect(printed.contains("applied \(module)"), "\(printed)")
            }

            let server = try ServerProcess(environment: environment, command: command, replacingEnvironment: true)
            try await server.start()
            let base = await server.url
            for (path, source) in [("/openapi.yaml", "Sources/Server/openapi.yaml"), ("/dashboard/dashboard.js", "Sources/Server/Dashboard/dashboard.js")] {
                let answer = try await TestHTTP.get(base + path)
                let expected = try String(contentsOf: DeployFilesTests.root.appendingPathComponent(source), encoding: .utf8)
                #expect(answer.status == 200, "\(path)")
                #expect(answer.body == expected, "\(path) is served as \(source) holds it")
            }
            let stopped = try await server.stop()
            let served = await server.log
            #expect(stopped == 0, "\(served)")
        }
    }
}
