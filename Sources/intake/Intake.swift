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
        await runCommand(Array(CommandLine.arguments.dropFirst()))
    }

    /// ArgumentParser's `main`, but a mistake in the arguments is one line on standard error
    /// (`intake: <what is wrong> (see 'intake etl run --help')`), exit status 64, not the
    /// usage block; and a command group given no subcommand (`intake etl`) prints its help to
    /// standard error and exits 64, not 0: a script cannot take it for success.
    static func runCommand(_ arguments: [String]) async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid arguments"
            let hint = fullMessage(for: error).split(whereSeparator: \.isNewline)
                .first { $0.contains("See '") }
                .flatMap { line in line.split(separator: "'").dropFirst().first.map { " (see '\($0)')" } } ?? ""
            FileHandle.standardError.write(Data("intake: \(message.trimmingCharacters(in: .whitespaces))\(hint)\n".utf8))
            Foundation.exit(code.rawValue)
        }
        let type = Swift.type(of: command)
        if !type.configuration.subcommands.isEmpty, type.configuration.defaultSubcommand == nil {
            FileHandle.standardError.write(Data((helpMessage(for: type) + "\n").utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                var synchronous = command
                try synchronous.run()
            }
        } catch {
            exit(withError: error)
        }
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
    /// With `validate`, the combination of settings is checked too.
    func configuration(overriding flags: [String: String?] = [:], validate: Bool = false) throws -> IntakeConfiguration {
        var variables = ProcessInfo.processInfo.environment
        let own: [String: String?] = [
            "INTAKE_DATABASE_URL": databaseURL, "INTAKE_REDIS_URL": redisURL, "INTAKE_DATA_DIR": dataDir, "INTAKE_ENV": env,
            "INTAKE_LOG_LEVEL": logLevel, "INTAKE_LOG_FORMAT": logFormat,
        ]
        let given = flags.merging(own) { $1 }.compactMapValues { $0 }
        variables.merge(given) { $1 }
        do {
            let configuration = try IntakeConfiguration.load(from: variables)
            if validate { try configuration.validate() }
            return configuration
        } catch let error as ConfigurationError {
            throw Self.namingFlags(error, given: Array(given.keys))
        }
    }

    /// A bad value that came from a flag is named as the flag the user typed (`--port 99999:
    /// …`), not as the variable it stands for (`INTAKE_PORT=99999: …`). Each flag is its
    /// variable's name without `INTAKE_`, in lower case, with dashes (`INTAKE_DB_POOL_SIZE`:
    /// `--db-pool-size`).
    static func namingFlags(_ error: ConfigurationError, given variables: [String]) -> ConfigurationError {
        for variable in variables where variable.hasPrefix("INTAKE_") {
            let flag = "--" + variable.dropFirst("INTAKE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            if error.message.hasPrefix(variable + "=") {
                return ConfigurationError(flag + " " + error.message.dropFirst(variable.count + 1))
            }
            if error.message.hasPrefix(variable + ":") {
                return ConfigurationError(flag + error.message.dropFirst(variable.count))
            }
        }
        return error
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
