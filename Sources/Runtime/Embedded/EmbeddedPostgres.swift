import Foundation
import Logging

/// A private PostgreSQL server run from the installed packages, for development and for
/// `intake serve` without `INTAKE_DATABASE_URL` (the embedded-postgres pattern).
///
/// `initdb` runs once; later starts reuse the cluster. The server listens on a free port of
/// 127.0.0.1 only, with no Unix socket, password authentication (the password is generated
/// into the data directory), and `fsync` on: durability is the product. As root it runs as
/// the `postgres` system user, since Postgres refuses root.
public struct EmbeddedPostgres: Sendable {
    /// `postgres://intake:...@127.0.0.1:PORT/intake`.
    public let url: String
    public let port: Int
    /// The directory holding `data/` (PGDATA) and `server.log`.
    public let directory: URL
    /// pgBackRest for this cluster, when it archives and backs up (`backups` at start).
    public let backRest: PgBackRest?
    let binDirectory: URL
    let runAs: String?
    let logger: Logger

    /// PGDATA.
    public var dataPath: URL { directory.appendingPathComponent("data") }
    /// The cluster's private Unix socket directory (0700, its owner only), for local tools
    /// that connect only through a socket (pgBackRest).
    public var socketDirectory: URL { directory.appendingPathComponent("socket") }

    static let database = "intake"
    static let user = "intake"

    /// Starts the server whose files live under `dataDirectory/postgres`, creating the
    /// cluster on first use.
    /// `port`: nil picks a free one; a restart that clients must find again passes the old one.
    /// `backups`: a pgBackRest repository directory; the cluster then archives its WAL there
    /// continuously (`archive_timeout` 50 s) and `backRest` drives backups and restores.
    /// `sun_path` holds 108 bytes on Linux, its terminating NUL included.
    static let maximumSocketPathLength = 107

    public static func start(
        dataDirectory: URL, port: Int? = nil, backups: URL? = nil, logger: Logger = Logger(label: "intake.embedded")
    ) async throws -> EmbeddedPostgres {
        let bin = try binDirectory()
        let runAs = DataDirectory.isRoot ? "postgres" : nil
        try DataDirectory.create(dataDirectory)
        let password = try DataDirectory.secret(dataDirectory.appendingPathComponent("postgres.password"))
        let directory = try await serverDirectory(dataDirectory, runAs: runAs, logger: logger)
        let pgdata = directory.appendingPathComponent("data")
        let pgCtl = bin.appendingPathComponent("pg_ctl").path

        // The private socket (`<server dir>/socket/.s.PGSQL.<port>`, any port) must fit a Unix socket
        // address (108 bytes with its NUL); past it `pg_ctl` fails with "could not start
        // server" and the cause only in the server's log (hostile review, session 12).
        let socketPath = directory.appendingPathComponent("socket/.s.PGSQL.65535").path
        guard socketPath.utf8.count <= Self.maximumSocketPathLength else {
            throw EmbeddedError(
                code: .dataDirectory,
                message: "the data directory \(dataDirectory.path) is too long for the embedded Postgres's Unix socket "
                    + "(\(socketPath.utf8.count) bytes in \(socketPath), at most \(Self.maximumSocketPathLength)): choose a shorter INTAKE_DATA_DIR")
        }
        if !FileManager.default.fileExists(atPath: pgdata.appendingPathComponent("PG_VERSION").path) {
            try await initialize(pgdata, in: directory, bin: bin, password: password, runAs: runAs, logger: logger)
        }
        // A server left running by an owner that is gone (the caller holds the data
        // directory's lock, `DataDirectoryLock`): stop it, then start afresh.
        if try await Subprocess.run(pgCtl, ["-D", pgdata.path, "status"], as: runAs).status == 0 {
            logger.warning("recovering an embedded Postgres whose owner died: stopping it", metadata: ["data": "\(pgdata.path)"])
            try await Subprocess.check(pgCtl, ["-D", pgdata.path, "-m", "fast", "-w", "stop"], as: runAs)
        }
        let port = try port ?? LocalPorts.free()
        var backRest: PgBackRest?
        if var repository = backups {
            if let runAs, !(await DataDirectory.reachable(repository.deletingLastPathComponent(), by: runAs)) {
                // As for the cluster: the server's user must reach its repository.
                repository = directory.deletingLastPathComponent().appendingPathComponent("backups")
                logger.notice(
                    "the postgres user cannot reach the backup directory; keeping the repository elsewhere",
                    metadata: ["backup_dir": "\(backups?.path ?? "")", "repository": "\(repository.path)"])
            }
            backRest = try await PgBackRest.prepare(repository: repository, dataPath: pgdata, runAs: runAs, logger: logger)
        }
        try await writeRuntimeSettings(directory: directory, pgdata: pgdata, archiveCommand: backRest?.archiveCommand, runAs: runAs)
        try removeOverrides(of: runtimeSettingNames, in: pgdata.appendingPathComponent("postgresql.auto.conf"), logger: logger)
        let log = directory.appendingPathComponent("server.log").path
        try await Subprocess.check(
            pgCtl, ["-D", pgdata.path, "-l", log, "-w", "-t", "60", "-o", "-p \(port)", "start"], as: runAs)
        let server = EmbeddedPostgres(
            url: url(password: password, port: port), port: port, directory: directory, backRest: backRest,
            binDirectory: bin, runAs: runAs, logger: logger)
        try await server.createDatabaseIfMissing(password: password)
        if let backRest {
            try await backRest.configure(port: port, socketDirectory: server.socketDirectory)
        }
        logger.info("embedded Postgres started", metadata: ["port": "\(port)", "data": "\(pgdata.path)", "log": "\(log)"])
        return server
    }

    /// The URL of the embedded server of `dataDirectory` running on `port` (another
    /// process's, which this one attaches to).
    public static func url(dataDirectory: URL, port: Int) throws -> String {
        url(password: try DataDirectory.existingSecret(dataDirectory.appendingPathComponent("postgres.password")), port: port)
    }

    static func url(password: String, port: Int, database: String = database) -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// Whether `url` names the embedded cluster of `dataDirectory` (on whatever port): what
    /// `intake env` exports for it, so that a shell which evaluated it still counts as using
    /// the embedded cluster.
    public static func isURL(_ url: String, ofClusterIn dataDirectory: URL) -> Bool {
        guard let password = try? password(dataDirectory: dataDirectory) else { return false }
        let prefix = "postgres://\(user):\(password)@127.0.0.1:"
        guard url.hasPrefix(prefix) else { return false }
        let rest = url.dropFirst(prefix.count)
        return rest.hasSuffix("/\(database)") && rest.dropLast(database.count + 1).allSatisfy(\.isNumber)
    }

    /// The password of the `intake` role of the embedded cluster of `dataDirectory`.
    public static func password(dataDirectory: URL) throws -> String {
        try DataDirectory.existingSecret(dataDirectory.appendingPathComponent("postgres.password"))
    }

    /// Stops the server (fast shutdown: open transactions roll back, committed data stays).
    public func stop() async throws {
        try await Subprocess.check(
            binDirectory.appendingPathComponent("pg_ctl").path,
            ["-D", directory.appendingPathComponent("data").path, "-m", "fast", "-w", "stop"], as: runAs)
        logger.info("embedded Postgres stopped", metadata: ["port": "\(port)"])
    }

    /// The Postgres binaries: `INTAKE_PG_BINDIR`, `pg_config --bindir`, or the newest
    /// `/usr/lib/postgresql/*/bin`.
    static func binDirectory() throws -> URL {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["INTAKE_PG_BINDIR"] { candidates.append(configured) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.compactMap(Int.init).sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate + "/initdb") {
            return URL(fileURLWithPath: candidate)
        }
        throw EmbeddedError(
            code: .missingBinary,
            message: "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package postgresql "
                + "(apt-get install -y postgresql), or set INTAKE_DATABASE_URL to use an existing server")
    }

    /// `dataDirectory/postgres`, owned by the server's user. As root, when the `postgres`
    /// user cannot reach the data directory (a checkout under a 0700 home), a directory under
    /// /var/lib/intake named after the data directory's path is used instead.
    private static func serverDirectory(_ dataDirectory: URL, runAs: String?, logger: Logger) async throws -> URL {
        var directory = dataDirectory.appendingPathComponent("postgres")
        try DataDirectory.create(directory, mode: 0o700)
        if let runAs {
            if !(await DataDirectory.reachable(dataDirectory, by: runAs)) {
                let key = Hex.sha256(dataDirectory.standardizedFileURL.path).prefix(16)
                directory = URL(fileURLWithPath: "/var/lib/intake/\(key)/postgres")
                try DataDirectory.create(directory.deletingLastPathComponent())
                try DataDirectory.create(directory, mode: 0o700)
                logger.notice(
                    "the postgres user cannot reach the data directory; keeping the embedded cluster elsewhere",
                    metadata: ["data_dir": "\(dataDirectory.path)", "cluster": "\(directory.path)"])
            }
            try await DataDirectory.chown(directory, to: runAs)
        }
        return directory
    }

    private static func initialize(
        _ pgdata: URL, in directory: URL, bin: URL, password: String, runAs: String?, logger: Logger
    ) async throws {
        logger.info("creating the embedded Postgres cluster", metadata: ["data": "\(pgdata.path)"])
        let passwordFile = directory.appendingPathComponent("initdb.pw")
        guard FileManager.default.createFile(atPath: passwordFile.path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot write \(passwordFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        if let runAs { try await DataDirectory.chown(passwordFile, to: runAs) }
        try await Subprocess.check(
            bin.appendingPathComponent("initdb").path,
            ["-D", pgdata.path, "-U", user, "--pwfile", passwordFile.path, "-A", "scram-sha-256", "-E", "UTF8",
             "--locale=C.UTF-8"], as: runAs)
        let settings = """

            # Written by intake: loopback only, TCP only, durable.
            listen_addresses = '127.0.0.1'
            unix_socket_directories = ''
            fsync = on
            synchronous_commit = on
            max_connections = 200
            shared_buffers = 256MB
            max_wal_size = 2GB

            """
        let conf = pgdata.appendingPathComponent("postgresql.conf")
        guard let handle = FileHandle(forWritingAtPath: conf.path) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot open \(conf.path)")
        }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(settings.utf8))
    }

    /// Settings rewritten at every start, included last by `postgresql.conf`: the private
    /// socket directory, commit timestamps and, with archiving, `archive_mode`, `archive_command` and
    /// `archive_timeout`. Local socket connections are trusted: the socket directory admits
    /// the cluster's owner only.
    private static func writeRuntimeSettings(directory: URL, pgdata: URL, archiveCommand: String?, runAs: String?) async throws {
        let socket = directory.appendingPathComponent("socket")
        try DataDirectory.create(socket, mode: 0o700)
        if let runAs { try await DataDirectory.chown(socket, to: runAs) }
        var settings = """
            # Written by intake at every start.
            unix_socket_directories = '\(socket.path)'
            unix_socket_permissions = 0700
            # Each transaction's commit time (pg_xact_commit_timestamp): what the outbox relay's
            # lag is measured from (`intake load`'s commit -> XADD figure).
            track_commit_timestamp = on

            """
        if let archiveCommand {
            settings += """
                archive_mode = on
                archive_command = '\(archiveCommand.replacingOccurrences(of: "'", with: "''"))'
                # 50 s, not 60: DATA.md's RPO is one minute, and a switched segment still has
                # to be pushed (a pgBackRest process, 16 MB compressed) on a machine under load.
                archive_timeout = 50

                """
        } else {
            settings += "archive_mode = off\n"
        }
        let runtime = pgdata.appendingPathComponent("intake-runtime.conf")
        guard FileManager.default.createFile(atPath: runtime.path, contents: Data(settings.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot write \(runtime.path)")
        }
        try appendLineIfMissing("include_if_exists = 'intake-runtime.conf'", to: pgdata.appendingPathComponent("postgresql.conf"))
        let hba = pgdata.appendingPathComponent("pg_hba.conf")
        let rules = (try? String(contentsOf: hba, encoding: .utf8)) ?? ""
        let trust = "local all all trust  # intake: the socket directory admits the cluster's owner only"
        if !rules.contains(trust) {
            guard FileManager.default.createFile(atPath: hba.path, contents: Data((trust + "\n" + rules).utf8), attributes: [.posixPermissions: 0o600]) else {
                throw EmbeddedError(code: .dataDirectory, message: "cannot write \(hba.path)")
            }
        }
        if let runAs {
            try await DataDirectory.chown(runtime, to: runAs)
            try await DataDirectory.chown(hba, to: runAs)
        }
    }

    /// The settings `intake-runtime.conf` owns.
    static let runtimeSettingNames: Set<String> = [
        "unix_socket_directories", "unix_socket_permissions", "archive_mode", "archive_command", "archive_timeout", "restore_command",
    ]

    /// `postgresql.auto.conf` is read after every other file, so a setting there wins over
    /// `intake-runtime.conf`: a restored copy brought in as the cluster carries
    /// `archive_mode = 'off'` and a `restore_command` from its restore, and would silently
    /// never archive again. Intake owns those settings: their lines are removed (logged). The
    /// file is rewritten in place, keeping its owner.
    static func removeOverrides(of names: Set<String>, in file: URL, logger: Logger) throws {
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        // Unreadable is an error: starting anyway could leave a restored copy never archiving.
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw EmbeddedError(code: .dataDirectory, message: "cannot read \(file.path): \(error)")
        }
        var removed: [String] = []
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            let name = line.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            guard names.contains(name) else { return true }
            removed.append(line.trimmingCharacters(in: .whitespaces))
            return false
        }
        guard !removed.isEmpty else { return }
        guard let handle = FileHandle(forWritingAtPath: file.path) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot open \(file.path)")
        }
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(kept.joined(separator: "\n").utf8))
        logger.notice(
            "removed settings from postgresql.auto.conf that intake manages (a restored copy's?)",
            metadata: ["file": "\(file.path)", "removed": "\(removed.joined(separator: "; "))"])
    }

    private static func appendLineIfMissing(_ line: String, to file: URL) throws {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        guard !text.split(separator: "\n").contains(where: { $0 == line }) else { return }
        guard let handle = FileHandle(forWritingAtPath: file.path) else {
            throw EmbeddedError(code: .dataDirectory, message: "cannot open \(file.path)")
        }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(("\n" + line + "\n").utf8))
    }

    private func createDatabaseIfMissing(password: String) async throws {
        let admin = PostgresClient(
            configuration: try PostgresConfiguration(url: "postgres://\(Self.user):\(password)@127.0.0.1:\(port)/postgres", poolSize: 1))
        defer { admin.shutdown() }
        let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(Self.database)])
        if exists.isEmpty {
            try await admin.query("CREATE DATABASE \(quoteIdentifier(Self.database))")
        }
        // Postgres's checkpointer takes its first sleep while the server is still starting,
        // when it leaves `archive_timeout` out: the full `checkpoint_timeout` (5 minutes), in
        // which no WAL segment was switched and archived however much was written — a lost
        // disk lost up to 5 minutes, not DATA.md's one (hostile review, session 13). A
        // checkpoint wakes it, and every sleep after counts `archive_timeout` in.
        try await admin.query("CHECKPOINT")
    }
}
