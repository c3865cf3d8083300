import ArgumentParser
import Foundation
import IntakeServer

struct Env: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the shell exports that reach the intake process running on the data directory.",
        discussion: """
            For the server scripts/run started: its URL, Postgres and Redis (with their passwords) and the development \
            secrets, as `export NAME='value'` lines. Use: eval "$(intake env)".
            """)

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try connection.configuration()
            guard let instance = RunningInstance.find(configuration) else {
                throw ValidationError(
                    "no intake process owns \(configuration.dataDirectory.path): start one with scripts/run (or intake serve), or give --data-dir")
            }
            print("# \(instance.owner.summary)")
            var exports: [(String, String?)] = [
                ("INTAKE_URL", instance.owner.httpURL), ("INTAKE_DATA_DIR", configuration.dataDirectory.path),
                ("INTAKE_DATABASE_URL", configuration.databaseURL ?? instance.databaseURL), ("INTAKE_REDIS_URL", configuration.redisURL ?? instance.redisURL),
            ]
            for name in ["INTAKE_WEBHOOK_SECRET", "INTAKE_JWT_SECRET", "INTAKE_PII_KEY"] {
                exports.append((name, instance.secrets[name]))
            }
            for case let (name, value?) in exports {
                print("export \(name)='\(value.replacingOccurrences(of: "'", with: "'\\''"))'")
            }
        }
    }
}
