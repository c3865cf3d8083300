import Foundation
import Logging

/// `intake restore --target-time T --to DIR` (DATA.md): restore the backup that precedes T
/// into a new directory and replay archived WAL to T, never over the running cluster.
/// Before restoring, it makes sure the WAL up to T is in the archive (a commit after T, then
/// a WAL switch, then waiting for the archiver), so that recovery can reach T; it fails,
/// naming the gap, when it cannot. Afterwards it starts the restored cluster on a free
/// loopback port until recovery has finished, reads the last transaction it restored, and
/// stops it: the directory is then a whole cluster, archiving off, ready for `pg_ctl start`.
public struct PointInTimeRestore: Sendable {
    /// What a restore reports.
    public struct Report: Sendable {
        public var directory: URL
        /// nil: the end of the archived WAL (`restoreLatest`).
        public var target: Date?
        /// The backup it started from.
        public var backup: PgBackRest.Backup
        /// Commit time of the last transaction recovery replayed (nil: none after the backup).
        public var lastTransaction: Date?
        public var duration: Duration
    }

    let backRest: PgBackRest
    /// The running cluster whose WAL is archived; nil when it is gone (`restoreLatest` only).
    let source: PostgresClient?
    /// The `intake` role's password (the restored cluster has the source's roles).
    let password: String
    let logger: Logger

    public init(backRest: PgBackRest, source: PostgresClient?, password: String, logger: Logger = Logger(label: "intake.restore")) {
        self.backRest = backRest
        self.source = source
        self.password = password
        self.logger = logger
    }

    public func restore(to directory: URL, target: Date) async throws -> Report {
        let started = ContinuousClock.now
        guard target <= Date() else { throw failure("the target time \(PgBackRest.recoveryTime(target)) is in the future") }
        try requireNewDirectory(directory)
        let backups = try await backRest.list()
        guard let first = backups.first else { throw failure("there is no backup yet (intake backup takes one)") }
        guard target > first.stop else {
            throw failure("the target time \(PgBackRest.recoveryTime(target)) is before the first backup, which ended at \(PgBackRest.recoveryTime(first.stop))")
        }
        let backup = backups.last { $0.stop <= target } ?? first
        guard let source else { throw failure("a restore to a time needs the running cluster, to archive the WAL up to it") }
        try await archiveThrough(target, from: source)
        let lastTransaction = try await removingOnFailure(directory) {
            try await backRest.restore(to: directory, target: target)
            return try await replay(directory)
        }
        return Report(directory: directory, target: target, backup: backup, lastTransaction: lastTransaction, duration: ContinuousClock.now - started)
    }

    /// After a lost disk: the latest backup and every WAL segment archived after it, without
    /// the cluster (which may be gone). What was not archived yet — at most `archive_timeout`
    /// and a segment's push, within DATA.md's minute — is lost; the report's last transaction says where it ends.
    public func restoreLatest(to directory: URL) async throws -> Report {
        let started = ContinuousClock.now
        try requireNewDirectory(directory)
        guard let backup = try await backRest.list().last else { throw failure("there is no backup in \(backRest.repository.path)") }
        let lastTransaction = try await removingOnFailure(directory) {
            try await backRest.restore(to: directory, target: nil)
            return try await replay(directory)
        }
        return Report(directory: directory, target: nil, backup: backup, lastTransaction: lastTransaction, duration: ContinuousClock.now - started)
    }

    private func requireNewDirectory(_ directory: URL) throws {
        // Never into the cluster (a restore inside its data directory breaks its next backup)
        // or the repository, nor around either.
        let target = directory.resolvingSymlinksInPath().standardizedFileURL.path
        for (name, protected) in [("the cluster's data directory", backRest.dataPath), ("the backup repository", backRest.repository)] {
            let path = protected.resolvingSymlinksInPath().standardizedFileURL.path
            if target == path || target.hasPrefix(path + "/") || path.hasPrefix(target + "/") {
                throw failure("\(directory.path) is inside or around \(name) (\(path)): restore into a new directory elsewhere")
            }
        }
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: directory.path), !contents.isEmpty {
            throw failure("\(directory.path) is not empty: a restore goes into a new, empty directory")
        }
    }

    /// A commit stamped after `target` (recovery stops at the first commit past it; with none
    /// it would run off the end of the WAL and fail), then a WAL switch, then the archiver
    /// until it has the segment that holds them.
    private func archiveThrough(_ target: Date, from source: PostgresClient) async throws {
        _ = try await source.query("SELECT txid_current()")
        let wal: String = try await source.query("SELECT pg_walfile_name(pg_switch_wal() - 1) AS wal")[0].decode("wal")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let row = try await source.query("SELECT COALESCE(last_archived_wal, '') AS archived, COALESCE(last_failed_wal, '') AS failed FROM pg_stat_archiver")[0]
            let archived: String = try row.decode("archived")
            if !archived.isEmpty, archived >= wal { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let row = try await source.query("SELECT COALESCE(last_archived_wal, 'none') AS archived, COALESCE(last_failed_wal, 'none') AS failed FROM pg_stat_archiver")[0]
        throw failure(
            "the WAL up to the target is not archived: segment \(wal) is needed, the last archived is \(try row.decode("archived", as: String.self)) "
                + "(last failed: \(try row.decode("failed", as: String.self)); see the cluster's server.log)")
    }

    /// Starts the restored cluster until recovery has promoted it; the last replayed commit.
    /// A recovery that stops short of its target (a segment missing or damaged in the archive)
    /// is reported as its log tells it, not as the refused connection to the stopped server.
    private func replay(_ directory: URL) async throws -> Date? {
        do {
            return try await replayUnexplained(directory)
        } catch {
            let log = directory.appendingPathComponent("recovery.log")
            guard let text = try? String(contentsOf: log, encoding: .utf8), let summary = RecoveryLog(text).summary else { throw error }
            throw failure(summary)
        }
    }

    private func replayUnexplained(_ directory: URL) async throws -> Date? {
        let bin = try EmbeddedPostgres.binDirectory()
        let pgCtl = bin.appendingPathComponent("pg_ctl").path
        let port = try LocalPorts.free()
        // In the restored directory: the server's user can write there, and the log stays with the copy it describes.
        let log = directory.appendingPathComponent("recovery.log")
        let runAs = backRest.runAs
        try await Subprocess.check(
            pgCtl,
            ["-D", directory.path, "-l", log.path, "-w", "-t", "600", "-o",
             "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c archive_mode=off", "start"],
            as: runAs)
        let client = PostgresClient(
            configuration: try PostgresConfiguration(url: EmbeddedPostgres.url(password: password, port: port, database: "postgres"), poolSize: 1))
        let stop = { [logger] in
            client.shutdown()
            do {
                try await Subprocess.check(pgCtl, ["-D", directory.path, "-m", "fast", "-w", "stop"], as: runAs)
            } catch {
                logger.error("the restored cluster could not be stopped", metadata: ["directory": "\(directory.path)", "error": "\(error)"])
                throw error
            }
        }
        let last: Date?
        do {
            let deadline = ContinuousClock.now + .seconds(600)
            while try await client.query("SELECT pg_is_in_recovery() AS recovering")[0].decode("recovering", as: Bool.self) {
                guard ContinuousClock.now < deadline else { throw failure("recovery did not finish within 10 minutes (see \(log.path))") }
                try await Task.sleep(for: .milliseconds(100))
            }
            last = try await client.query("SELECT pg_last_xact_replay_timestamp() AS last")[0].decode("last")
        } catch {
            // The recovery's error is the one to report; a failed stop is logged by `stop`.
            do { try await stop() } catch {}
            throw error
        }
        try await stop()
        return last
    }

    /// Runs `body`, which fills `directory` (new or empty, `requireNewDirectory`); when it
    /// fails, what it left there is removed, so that the same command can be run again (a
    /// partial copy made the retry fail as "not empty"). Its recovery log, if any, is kept
    /// beside the directory and named in the error. Left alone while a server still runs
    /// there.
    private func removingOnFailure<T>(_ directory: URL, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let files = FileManager.default
            guard !files.fileExists(atPath: directory.appendingPathComponent("postmaster.pid").path) else { throw error }
            var message = "\(error)"
            let log = directory.appendingPathComponent("recovery.log")
            if files.fileExists(atPath: log.path) {
                let kept = directory.deletingLastPathComponent().appendingPathComponent(directory.lastPathComponent + ".recovery.log")
                try? files.removeItem(at: kept)
                if (try? files.copyItem(at: log, to: kept)) != nil { message += " (its recovery log: \(kept.path))" }
            }
            for entry in (try? files.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [] {
                do {
                    try files.removeItem(at: entry)
                } catch {
                    logger.warning("could not remove a partial restore's file", metadata: ["file": "\(entry.path)", "error": "\(error)"])
                }
            }
            throw failure(message.hasPrefix("restore: ") ? String(message.dropFirst("restore: ".count)) : message)
        }
    }

    private func failure(_ message: String) -> EmbeddedError {
        EmbeddedError(code: .commandFailed, message: "restore: " + message)
    }
}
