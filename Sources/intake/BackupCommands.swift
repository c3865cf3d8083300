import ArgumentParser
import Foundation
import IntakeRuntime
import IntakeServer
import Logging

/// The embedded cluster's infrastructure with its pgBackRest, or a one-line error.
private func withBackups<T>(
    _ connection: ConnectionOptions, command: String, _ body: (PgBackRest, IntakeInfrastructure, IntakeConfiguration) async throws -> T
) async throws -> T {
    var configuration = try connection.configuration()
    LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
    guard configuration.usesEmbeddedPostgres else {
        throw ValidationError(
            "backups are the embedded cluster's: for your own Postgres (INTAKE_DATABASE_URL) configure pgBackRest as the README shows")
    }
    // The embedded cluster's own URL (from `intake env`): attach to it as without one.
    configuration.databaseURL = nil
    let infrastructure = try await IntakeInfrastructure.start(configuration, logger: Logger(label: "intake"), command: command)
    do {
        guard let backRest = infrastructure.backRest else {
            throw ValidationError("the embedded cluster is not backed up: install pgbackrest (apt-get install -y pgbackrest) and restart intake")
        }
        let result = try await body(backRest, infrastructure, configuration)
        await infrastructure.shutdown()
        return result
    } catch {
        await infrastructure.shutdown()
        throw error
    }
}

private func describe(_ backup: PgBackRest.Backup) -> [String] {
    [backup.label, backup.type, JSONText.timestamp(backup.start), JSONText.timestamp(backup.stop),
     String(format: "%.1f", backup.stop.timeIntervalSince(backup.start)), "\(backup.databaseBytes)", "\(backup.repositoryBytes)",
     "\(backup.walStart)..\(backup.walStop)"]
}

private let backupColumns = ["LABEL", "TYPE", "STARTED", "STOPPED", "SECONDS", "DB BYTES", "REPO BYTES", "WAL"]

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Backups of the embedded cluster (pgBackRest): take one now, list them, verify them.",
        discussion: "WAL is archived continuously (archive_timeout 50 s, so the RPO stays within a minute): intake restore reaches any time after the first backup.",
        subcommands: [BackupNow.self, BackupList.self, BackupVerify.self], defaultSubcommand: BackupNow.self)
}

struct BackupNow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "now", abstract: "Take a backup now and print it (the default).")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "full, diff or incr (an incremental with no full backup before it is made full).") var type = "incr"

    func run() async throws {
        try await reportingErrors {
            guard ["full", "diff", "incr"].contains(type) else { throw ValidationError("--type: full, diff or incr") }
            let backup = try await withBackups(connection, command: "backup") { backRest, _, _ in
                let label = try await backRest.backup(type: type)
                return try await backRest.list().first { $0.label == label }
            }
            guard let backup else { throw ValidationError("the backup finished but is not listed") }
            print(table(backupColumns, [describe(backup)]), terminator: "")
        }
    }
}

struct BackupList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every backup in the repository, oldest first.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let backups = try await withBackups(connection, command: "backup") { backRest, _, _ in try await backRest.list() }
            print(table(backupColumns, backups.map(describe)), terminator: "")
            if backups.isEmpty { print("no backup yet: intake backup takes one") }
        }
    }
}

struct BackupVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check every backup and archived WAL segment against its checksums; exit 1 if any is damaged.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors {
            let (verification, count) = try await withBackups(connection, command: "backup") { backRest, _, _ in
                (try await backRest.verify(), try await backRest.list().count)
            }
            guard count > 0 else {
                throw ValidationError("there is no backup to verify (intake backup list; INTAKE_BACKUP_DIR names the repository)")
            }
            verification.report.split(separator: "\n").forEach { print($0) }
            guard verification.isValid else {
                throw ValidationError("the repository is damaged: see the backups and WAL above whose status is not valid")
            }
            print("ok: \(count) backups and their WAL verified")
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the embedded cluster as it was at a time into a new directory (point-in-time recovery, pgBackRest).",
        discussion: """
            Restores the last backup before --target-time into --to (new or empty; never the running cluster), replays \
            archived WAL up to that time, and prints the last transaction restored and the time taken. With --latest \
            (a lost disk), restores the latest backup and all archived WAL without the cluster, which may be gone. Start \
            the copy with pg_ctl -D DIR -o '-p PORT' start (as the postgres user when root); it archives nowhere until told to.
            """)
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "RFC 3339 time to recover to, e.g. 2026-11-29T10:40:00Z.") var targetTime: String?
    @Flag(help: "Recover everything archived (the cluster lost): the latest backup and all WAL after it.") var latest = false
    @Option(help: "A new, empty directory for the restored cluster.") var to: String

    func run() async throws {
        try await reportingErrors {
            guard !to.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--to: give a new, empty directory for the restored cluster")
            }
            let directory = URL(fileURLWithPath: to).standardizedFileURL
            let report: PointInTimeRestore.Report
            switch (targetTime, latest) {
            case (nil, false), (.some, true):
                throw ValidationError("give one of --target-time T (a point in time) and --latest (all that was archived)")
            case (nil, true):
                report = try await restoreLatest(into: directory)
            case (let text?, false):
                guard let target = JSONText.parseTimestamp(text) else {
                    throw ValidationError("--target-time: expected an RFC 3339 time such as 2026-11-29T10:40:00Z, got \(text)")
                }
                report = try await withBackups(connection, command: "restore") { backRest, infrastructure, configuration in
                    guard directory.path != backRest.dataPath.standardizedFileURL.path else {
                        throw ValidationError("--to is the running cluster's own directory: restore into a new one")
                    }
                    let restore = PointInTimeRestore(
                        backRest: backRest, source: infrastructure.postgres,
                        password: try EmbeddedPostgres.password(dataDirectory: configuration.dataDirectory))
                    return try await restore.restore(to: directory, target: target)
                }
            }
            let seconds = Double(report.duration.components.seconds) + Double(report.duration.components.attoseconds) / 1e18
            print("restored \(report.directory.path) to \(report.target.map(JSONText.timestamp) ?? "the end of the archived WAL") from backup \(report.backup.label)")
            switch (report.lastTransaction, report.target) {
            case (let last?, let target?):
                print("last transaction restored: \(JSONText.timestamp(last)) (\(String(format: "%.3f", target.timeIntervalSince(last))) s before the target)")
            case (let last?, nil):
                print("last transaction restored: \(JSONText.timestamp(last))")
            case (nil, _):
                print("last transaction restored: none after the backup")
            }
            print("restore took \(String(format: "%.1f", seconds)) s")
        }
    }

    /// The repository alone, no server started: the cluster may be gone with its disk.
    private func restoreLatest(into directory: URL) async throws -> PointInTimeRestore.Report {
        let configuration = try connection.configuration()
        LoggingSetup.bootstrap(format: configuration.logFormat, level: max(configuration.logLevel, .warning))
        guard configuration.usesEmbeddedPostgres else {
            throw ValidationError("backups are the embedded cluster's: for your own Postgres use pgbackrest restore as the runbook shows")
        }
        let repository = configuration.backupDirectory
        let backRest = PgBackRest.attached(repository: repository, dataPath: configuration.dataDirectory.appendingPathComponent("postgres/data"))
        guard FileManager.default.fileExists(atPath: backRest.configFile.path) else {
            throw ValidationError("no backup repository at \(repository.path) (INTAKE_BACKUP_DIR names another)")
        }
        let restore = PointInTimeRestore(
            backRest: backRest, source: nil, password: try EmbeddedPostgres.password(dataDirectory: configuration.dataDirectory))
        return try await restore.restoreLatest(to: directory)
    }
}

