import Foundation
import IntakeRuntime
import Logging

/// Backups of the embedded cluster on the work queue (DATA.md: a full backup on first start,
/// then scheduled incrementals), run by the process that owns the cluster. The backups
/// themselves are pgBackRest's (`PgBackRest`). The nightly incremental is a full one when
/// the newest full is a week old: pgBackRest keeps the last `repo1-retention-full` (3) fulls
/// and expires older backups and their WAL only as new fulls arrive, so incrementals alone
/// would keep every backup and every WAL segment since the first start.
public struct BackupJobs: Sendable {
    public static let kind = "intake.backup"
    public static let scheduleName = "backup.incremental"
    /// Incrementals every day at 01:00 UTC, between WAL archiving's minute-by-minute RPO and
    /// the nightly pipeline at 02:00.
    public static let schedule = "0 1 * * *"

    let backRest: PgBackRest
    let logger: Logger

    public init(backRest: PgBackRest, logger: Logger = Logger(label: "intake.backup")) {
        self.backRest = backRest
        self.logger = logger
    }

    struct Args: Codable {
        var type: String
    }

    public func register(on queue: WorkQueue) {
        queue.register(kind: Self.kind, concurrency: 1) { job in
            let args = try job.decodeArgs(Args.self)
            let type = Self.backupType(requested: args.type, existing: try await backRest.list(), now: Date())
            let label = try await backRest.backup(type: type)
            logger.notice("backup finished", metadata: ["label": "\(label)", "type": "\(type)"])
            return .completed
        }
    }

    /// How often the nightly backup is a full one: a week, less the minutes between a
    /// nightly job's decision and its backup's recorded start (the next week's decision
    /// comes a little under seven days after that start).
    public static let fullBackupInterval: TimeInterval = 6.5 * 86_400

    /// The backup to take for a request of `requested`: an incremental becomes a full when no
    /// full exists yet or the newest started `fullBackupInterval` or more before `now`.
    static func backupType(requested: String, existing: [PgBackRest.Backup], now: Date) -> String {
        guard requested == "incr" else { return requested }
        guard let newestFull = existing.last(where: { $0.type == "full" }) else { return "full" }
        return now.timeIntervalSince(newestFull.start) >= fullBackupInterval ? "full" : "incr"
    }

    public static func periodicJob() throws -> PeriodicJob {
        PeriodicJob(
            name: scheduleName, schedule: .cron(try CronSchedule(schedule)),
            request: try JobRequest(kind: kind, args: Args(type: "incr"), maxAttempts: 5))
    }

    /// On start: a full backup when the repository has none yet (once, whatever the number
    /// of starts racing: a unique job).
    public func ensureFirstBackup(on queue: WorkQueue) async throws {
        guard try await backRest.list().isEmpty else { return }
        _ = try await queue.enqueue(try JobRequest(kind: Self.kind, args: Args(type: "full"), maxAttempts: 5, uniqueKey: "intake.backup.first"))
        logger.notice("no backup yet: a full backup is queued")
    }
}
