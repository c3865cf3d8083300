import ArgumentParser
import Foundation
import IntakeRuntime
import IntakeServer
import Logging

@main
struct Intake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Order intake at high concurrency that never loses an order.",
        discussion: "Settings come from INTAKE_* environment variables; flags override them. See README.md.",
        subcommands: [
            Serve.self, Migrate.self, Admin.self, Load.self, Env.self, Pay.self, Etl.self, WarehouseCommand.self, Jobs.self, Check.self,
            Backup.self, Restore.self, LifecycleCommand.self, BenchFloor.self,
        ])

    /// Refuses arguments that are not UTF-8 before parsing them: Swift reads `argv` with
    /// invalid bytes replaced by U+FFFD, so `--password $'\xff\xfe…'` would silently become a
    /// password that any eight invalid bytes match (hostile review, session 12).
    static func main() async {
        if let position = firstArgumentNotUTF8() {
            FileHandle.standardError.write(Data("intake: argument \(position) is not valid UTF-8\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        if let unknown = unknownHelpTopic(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("intake: no such command: \(unknown) (see 'intake --help')\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        await main(nil)
    }

    /// `intake help a b …` names a command path; ArgumentParser prints the root help and
    /// exits 0 for a path that names nothing, which a script cannot tell from success.
    /// The whole path that does not resolve, or nil.
    static func unknownHelpTopic(_ arguments: [String]) -> String? {
        guard arguments.first == "help", arguments.count > 1 else { return nil }
        var command: any ParsableCommand.Type = Intake.self
        for name in arguments.dropFirst() where !name.hasPrefix("-") {
            let next = command.configuration.subcommands.first { $0._commandName == name }
            guard let next else { return arguments.dropFirst().joined(separator: " ") }
            command = next
        }
        return nil
    }

    /// The position (1-based, after the program's name) of the first argument that is not UTF-8.
    static func firstArgumentNotUTF8() -> Int? {
        for position in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[position] else { continue }
            let bytes = UnsafeRawBufferPointer(start: argument, count: strlen(argument))
            if String(validating: bytes, as: UTF8.self) == nil { return position }
        }
        return nil
    }
}

/// Options shared by every command that talks to Postgres and Redis.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Postgres URL (INTAKE_DATABASE_URL); unset: start the embedded Postgres.")
    var databaseURL: String?

    @Option(help: "Redis URL (INTAKE_REDIS_URL); unset: start the embedded Redis.")
    var redisURL: String?

    @Option(help: "Data directory for embedded servers and dev secrets (INTAKE_DATA_DIR, default ./.intake).")
    var dataDir: String?

    @Option(help: "development or production (INTAKE_ENV).")
    var env: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (INTAKE_LOG_LEVEL).")
    var logLevel: String?

    @Option(help: "json or text (INTAKE_LOG_FORMAT).")
    var logFormat: String?

    /// The environment's configuration with these flags, and a command's own
    /// (`overriding`, by variable name), laid over it.
    func configuration(overriding flags: [String: String?] = [:]) throws -> IntakeConfiguration {
        var variables = ProcessInfo.processInfo.environment
        for case let (name, value?) in flags { variables[name] = value }
        variables["INTAKE_DATABASE_URL"] = databaseURL ?? variables["INTAKE_DATABASE_URL"]
        variables["INTAKE_REDIS_URL"] = redisURL ?? variables["INTAKE_REDIS_URL"]
        variables["INTAKE_DATA_DIR"] = dataDir ?? variables["INTAKE_DATA_DIR"]
        variables["INTAKE_ENV"] = env ?? variables["INTAKE_ENV"]
        variables["INTAKE_LOG_LEVEL"] = logLevel ?? variables["INTAKE_LOG_LEVEL"]
        variables["INTAKE_LOG_FORMAT"] = logFormat ?? variables["INTAKE_LOG_FORMAT"]
        return try IntakeConfiguration.load(from: variables)
    }
}

/// Runs `body`, turning any error into one line on standard error and exit status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("intake: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// Prints `line` and flushes it: what a command reports as it goes (a backfill's runs)
/// reaches a pipe or a file at once, not when the command exits.
func report(_ line: String) {
    print(line)
    fflush(nil)
}
