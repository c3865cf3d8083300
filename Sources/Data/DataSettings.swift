import Foundation
import IntakeRuntime

/// Settings of the data side (DATA.md "Tiers"), from `INTAKE_*` variables.
public struct DataSettings: Sendable {
    /// Root of the Parquet lake (`INTAKE_LAKE_DIR`, default `<data dir>/lake`).
    public var lakeDirectory: URL
    /// The DuckDB warehouse file (`INTAKE_WAREHOUSE_PATH`, default `<data dir>/warehouse.duckdb`).
    public var warehousePath: URL
    /// Scratch space of runs between steps (`<data dir>/etl-staging`).
    public var stagingDirectory: URL
    /// When `daily_sales` runs for yesterday (`INTAKE_ETL_SCHEDULE`, default `0 2 * * *`, UTC).
    public var etlSchedule: CronSchedule
    /// Checks whose failure only warns (`INTAKE_DQ_WARN`, comma-separated names).
    public var dqWarn: Set<String>
    /// The DuckDB CLI (`INTAKE_DUCKDB`, else the project's venv, else `PATH`).
    public var duckdbPath: String?
    /// Prefix of event types (`<prefix>.pipeline.failed`).
    public var eventTypePrefix: String
    /// Attempts of each step job before the run fails.
    public var stepAttempts: Int
    /// Finished orders older than this leave the hot tables (`INTAKE_HOT_RETENTION`, `12mo`).
    public var hotRetention = RetentionPeriod(count: 12, unit: .months)
    /// Archive months older than this leave Postgres; their Parquet stays (`INTAKE_COLD_AFTER`, `3y`).
    public var coldAfter = RetentionPeriod(count: 3, unit: .years)

    public init(dataDirectory: URL, eventTypePrefix: String = "com.example") {
        lakeDirectory = dataDirectory.appendingPathComponent("lake")
        warehousePath = dataDirectory.appendingPathComponent("warehouse.duckdb")
        stagingDirectory = dataDirectory.appendingPathComponent("etl-staging")
        // A constant expression that parses.
        etlSchedule = Self.defaultSchedule
        dqWarn = []
        duckdbPath = nil
        self.eventTypePrefix = eventTypePrefix
        stepAttempts = 3
    }

    static let defaultSchedule: CronSchedule = {
        do { return try CronSchedule("0 2 * * *") } catch { preconditionFailure("the default ETL schedule does not parse: \(error)") }
    }()

    /// The settings for `dataDirectory` with the `INTAKE_*` variables of `variables` laid over
    /// them; a bad value fails naming its variable.
    public static func load(from variables: [String: String], dataDirectory: URL, eventTypePrefix: String = "com.example") throws -> DataSettings {
        var settings = DataSettings(dataDirectory: dataDirectory, eventTypePrefix: eventTypePrefix)
        func value(_ name: String) -> String? {
            guard let text = variables[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        if let lake = value("INTAKE_LAKE_DIR") { settings.lakeDirectory = URL(fileURLWithPath: lake) }
        if let warehouse = value("INTAKE_WAREHOUSE_PATH") { settings.warehousePath = URL(fileURLWithPath: warehouse) }
        if let schedule = value("INTAKE_ETL_SCHEDULE") {
            do {
                settings.etlSchedule = try CronSchedule(schedule)
            } catch {
                throw DataError(code: .configuration, message: "INTAKE_ETL_SCHEDULE=\(schedule): \(error)")
            }
        }
        if let warn = value("INTAKE_DQ_WARN") {
            settings.dqWarn = Set(warn.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            let known = Set(DataQualityCheck.all.map(\.name))
            if let unknown = settings.dqWarn.subtracting(known).sorted().first {
                throw DataError(code: .configuration, message: "INTAKE_DQ_WARN: no check named \(unknown); checks: \(known.sorted().joined(separator: ", "))")
            }
        }
        settings.duckdbPath = value("INTAKE_DUCKDB")
        for (name, keyPath) in [("INTAKE_HOT_RETENTION", \DataSettings.hotRetention), ("INTAKE_COLD_AFTER", \DataSettings.coldAfter)] {
            guard let text = value(name) else { continue }
            guard let period = RetentionPeriod(text) else {
                throw DataError(code: .configuration, message: "\(name)=\(text): expected seconds or a number with s, m, h, d, w, mo or y (12mo, 3y), at most 100y")
            }
            settings[keyPath: keyPath] = period
        }
        // Months go cold (leave Postgres) only once archived: a cold age under the hot
        // retention is a mistake (`INTAKE_COLD_AFTER=1095` meant as days is 1,095 seconds), and
        // its effect — every archive month out of Postgres at once — is not undone.
        let now = Date()
        if settings.coldAfter.before(now) > settings.hotRetention.before(now) {
            throw DataError(
                code: .configuration,
                message: "INTAKE_COLD_AFTER=\(settings.coldAfter) is shorter than INTAKE_HOT_RETENTION=\(settings.hotRetention): archive months go cold after they are archived")
        }
        return settings
    }
}
