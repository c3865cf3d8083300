import ArgumentParser
import IntakeData

struct LifecycleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifecycle", abstract: "The storage tiers (hot, archive, lake only).", subcommands: [LifecycleRun.self])
}

struct LifecycleRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Move what is due now: finished orders past INTAKE_HOT_RETENTION (12mo) to the archive and the lake, archive months past INTAKE_COLD_AFTER (3y) out of Postgres; print what moved.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let report = try await DataContext.with(connection) { context in try await context.platform.lifecycle.run() }
            print(report.text)
        }
    }
}
