import Foundation
import Logging

/// pgBackRest (Debian `pgbackrest`) for one cluster: continuous WAL archiving into a
/// repository, full and incremental backups, verification, and point-in-time restores into a
/// new directory. Intake writes its configuration and runs its commands; the work is
/// pgBackRest's. As root every command runs as the cluster's owner (`postgres`), who owns the
/// repository too.
public struct PgBackRest: Sendable {
    /// The one stanza of an Intake cluster.
    public static let stanza = "intake"

    /// The repository directory (DATA.md: `<data dir>/backups/`, `INTAKE_BACKUP_DIR`).
    public let repository: URL
    public let dataPath: URL
    let runAs: String?
    let logger: Logger

    public var configFile: URL { repository.appendingPathComponent("pgbackrest.conf") }

    /// What `archive_command` runs: one WAL segment pushed into the repository.
    public var archiveCommand: String {
        "\(Self.binary) --config=\(configFile.path) --stanza=\(Self.stanza) archive-push %p"
    }

    static let binary = "/usr/bin/pgbackrest"

    /// Whether pgBackRest is installed.
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// The pgBackRest of a cluster another process owns (its configuration written by that
    /// process): `repository` and `dataPath` as its lock file names them.
    public static func attached(repository: URL, dataPath: URL, logger: Logger = Logger(label: "intake.backup")) -> PgBackRest {
        PgBackRest(repository: repository, dataPath: dataPath, runAs: DataDirectory.isRoot ? "postgres" : nil, logger: logger)
    }

    /// Creates the repository directory (owned by `runAs`) and a first configuration, before
    /// the cluster starts (its `archive_command` names the configuration file).
    static func prepare(repository: URL, dataPath: URL, runAs: String?, logger: Logger) async throws -> PgBackRest {
        guard isInstalled else {
            throw EmbeddedError(
                code: .missingBinary, message: "pgbackrest not found: install the Debian package pgbackrest (apt-get install -y pgbackrest)")
        }
        try DataDirectory.create(repository, mode: 0o700)
        for directory in ["log", "lock", "spool"] { try DataDirectory.create(repository.appendingPathComponent(directory), mode: 0o700) }
        if let runAs { try await DataDirectory.chown(repository, to: runAs) }
        let backRest = PgBackRest(repository: repository, dataPath: dataPath, runAs: runAs, logger: logger)
        if !FileManager.default.fileExists(atPath: backRest.configFile.path) {
            try await backRest.writeConfiguration(port: nil, socketDirectory: nil)
        }
        return backRest
    }

    /// Writes the configuration with the running cluster's port and socket, and creates the
    /// stanza the first time. A stanza that exists is left alone: a start that recovers from
    /// a killed owner can find that owner's backup still running, holding pgBackRest's lock,
    /// and must not fail on it.
    func configure(port: Int, socketDirectory: URL) async throws {
        try await writeConfiguration(port: port, socketDirectory: socketDirectory)
        let info = repository.appendingPathComponent("repo/backup/\(Self.stanza)/backup.info")
        if FileManager.default.fileExists(atPath: info.path) { return }
        try await run(["stanza-create"])
    }

    private func writeConfiguration(port: Int?, socketDirectory: URL?) async throws {
        var text = """
            # Written by intake at every start of the cluster.
            [global]
            repo1-path=\(repository.appendingPathComponent("repo").path)
            repo1-retention-full=3
            log-path=\(repository.appendingPathComponent("log").path)
            lock-path=\(repository.appendingPathComponent("lock").path)
            spool-path=\(repository.appendingPathComponent("spool").path)
            log-level-console=warn
            log-level-file=info
            start-fast=y
            compress-type=lz4

            [\(Self.stanza)]
            pg1-path=\(dataPath.path)

            """
        if let port { text += "pg1-port=\(port)\n" }
        if let socketDirectory { text += "pg1-socket-path=\(socketDirectory.path)\npg1-user=\(EmbeddedPostgres.user)\npg1-database=postgres\n" }
        guard FileManager.default.createFile(atPath: configFile.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot write \(configFile.path)")
        }
        if let runAs { try await DataDirectory.chown(configFile, to: runAs) }
    }

    /// Runs `pgbackrest --config=... --stanza=intake ARGS` as the cluster's owner; its output.
    @discardableResult
    func run(_ arguments: [String]) async throws -> String {
        try await Subprocess.check(Self.binary, ["--config=\(configFile.path)", "--stanza=\(Self.stanza)"] + arguments, as: runAs)
    }

    /// A backup of `type` (`full`, `diff` or `incr`; an incremental with no full before it
    /// is made full by pgBackRest). Returns its label.
    @discardableResult
    public func backup(type: String) async throws -> String {
        try await run(["backup", "--type=\(type)"])
        guard let label = try await list().last?.label else {
            throw EmbeddedError(code: .commandFailed, message: "pgbackrest backup finished but lists no backup")
        }
        logger.info("backup taken", metadata: ["label": "\(label)", "type": "\(type)"])
        return label
    }

    /// One backup in the repository.
    public struct Backup: Sendable, Hashable {
        public var label: String
        public var type: String
        public var start: Date
        public var stop: Date
        /// Bytes of the database it copied, and stored in the repository (compressed, and for
        /// incrementals only what changed).
        public var databaseBytes: Int64
        public var repositoryBytes: Int64
        public var walStart: String
        public var walStop: String
    }

    /// The backups, oldest first.
    public func list() async throws -> [Backup] {
        let output = try await run(["info", "--output=json"])
        guard let data = output.data(using: .utf8), let stanzas = (try JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw EmbeddedError(code: .commandFailed, message: "pgbackrest info gave no JSON: \(output.prefix(200))")
        }
        var backups: [Backup] = []
        for stanza in stanzas {
            for entry in stanza["backup"] as? [[String: Any]] ?? [] {
                let timestamp = entry["timestamp"] as? [String: Any] ?? [:]
                let info = entry["info"] as? [String: Any] ?? [:]
                let repository = info["repository"] as? [String: Any] ?? [:]
                let archive = entry["archive"] as? [String: Any] ?? [:]
                backups.append(
                    Backup(
                        label: entry["label"] as? String ?? "?", type: entry["type"] as? String ?? "?",
                        start: Date(timeIntervalSince1970: Self.number(timestamp["start"])),
                        stop: Date(timeIntervalSince1970: Self.number(timestamp["stop"])),
                        databaseBytes: Int64(Self.number(info["size"])), repositoryBytes: Int64(Self.number(repository["delta"])),
                        walStart: archive["start"] as? String ?? "", walStop: archive["stop"] as? String ?? ""))
            }
        }
        return backups.sorted { $0.start < $1.start }
    }

    private static func number(_ value: Any?) -> Double {
        (value as? NSNumber)?.doubleValue ?? 0
    }

    /// What `verify` found: `report` is pgBackRest's, one line per backup and per WAL
    /// archive with its counts (checked, valid, missing, checksum invalid…).
    public struct Verification: Sendable {
        public var isValid: Bool
        public var report: String
    }

    /// Checks every backup and archived WAL segment in the repository against its checksums
    /// (`pgbackrest verify --output=text --verbose`). pgBackRest 2.45 exits 0 whatever it
    /// finds, so its report decides: valid only when the stanza's line says `status: ok`
    /// (hostile review, session 13: a damaged backup file and a damaged WAL segment both
    /// verified as ok).
    public func verify() async throws -> Verification {
        let report = try await run(["verify", "--output=text", "--verbose"])
        return Verification(isValid: Self.reportsValid(report), report: report)
    }

    /// Whether a `verify --output=text` report says the stanza is valid.
    static func reportsValid(_ report: String) -> Bool {
        let statuses = report.split(separator: "\n").filter { $0.hasPrefix("status: ") }
        return !statuses.isEmpty && statuses.allSatisfy { $0 == "status: ok" }
    }

    /// Restores into `directory` (new or empty), archiving off (a restored copy archives
    /// nowhere until told to): with a `target`, the backup set that precedes it and recovery
    /// to that time; without, the latest backup and recovery to the end of the archived WAL
    /// (a lost disk: all that was archived).
    public func restore(to directory: URL, target: Date?) async throws {
        try DataDirectory.create(directory, mode: 0o700)
        if let runAs { try await DataDirectory.chown(directory, to: runAs) }
        let recovery = target.map { ["--type=time", "--target=\(Self.recoveryTime($0))", "--target-action=promote"] } ?? ["--type=default"]
        try await run(["restore", "--pg1-path=\(directory.path)"] + recovery + ["--archive-mode=off"])
    }

    /// `2026-11-29 10:40:00.123456+00`, as recovery_target_time takes it.
    static func recoveryTime(_ date: Date) -> String {
        let text = PostgresTimestamp.format(date)
        return text.hasSuffix("Z") ? String(text.dropLast()) + "+00" : text
    }
}
