import Foundation
import IntakeRuntime
import Logging

/// Backups of the embedded cluster on the work queue (DATA.md: a full backup on first start,
/// then scheduled incrementals), run by the process that owns the cluster. The backups
/// themselves are pgBackRest's (`PgBackRest`).
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
            let label = try await backRest.backup(type: args.type)
            logger.notice("backup finished", metadata: ["label": "\(label)", "type": "\(args.type)"])
            return .completed
        }
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
