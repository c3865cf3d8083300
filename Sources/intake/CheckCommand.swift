import ArgumentParser
import Foundation
import IntakeData
import IntakeRuntime

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every data-quality check now: one line per check (ok/FAIL, value, threshold); exit 1 when an error check fails.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let results = try await DataContext.with(connection) { context in try await context.platform.quality.runAll() }
            let units = Dictionary(uniqueKeysWithValues: DataQualityCheck.all.map { ($0.name, $0.unit) })
            for result in results { print(result.line(unit: units[result.check] ?? "")) }
            if DataQuality.anyErrorFailed(results) { throw ExitCode.failure }
        }
    }
}
