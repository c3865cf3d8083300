import AsyncHTTPClient
import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// Backups and point-in-time recovery of the embedded cluster (DATA.md), end to end:
/// `intake serve` archives WAL and takes a full backup on first start; orders are taken, a
/// time T noted, more orders taken; `intake restore --target-time T --to DIR` gives a cluster
/// holding every order acknowledged before T and none after. Prints RPO and restore time.
@Suite("Backup and point-in-time recovery", .serialized)
struct BackupRestoreTests {
    static let environment = [
        "INTAKE_JWT_SECRET": "backup-jwt-secret-0123456789abcdef-xyz", "INTAKE_WEBHOOK_SECRET": "backup-webhook-secret",
        "INTAKE_PII_KEY": Data(repeating: 9, count: 32).base64EncodedString(), "INTAKE_ADMIN_EMAIL": "backup-admin@example.com",
        "INTAKE_ADMIN_PASSWORD": "backup-admin-password", "INTAKE_BCRYPT_COST": "4", "INTAKE_LOG_LEVEL": "warning", "INTAKE_LOG_FORMAT": "text",
    ]

    func intake(_ arguments: [String], dataDirectory: URL) async throws -> (status: Int32, output: String) {
        try await IntakeCommand.run(
            arguments, environment: Self.environment.merging(["INTAKE_DATA_DIR": dataDirectory.path, "INTAKE_DATABASE_URL": "", "INTAKE_REDIS_URL": ""]) { $1 },
            bare: true)
    }


    /// A fresh data directory under a new root, `intake serve` on it, its first full backup
    /// listed, an admin token and a product with `stock` units.
    struct Served {
        var root: URL
        var dataDirectory: URL
        var server: ServerProcess
        var base: String
        var token: String
        var product: String
    }

    func serveWithFirstBackup(_ name: String, stock: Int) async throws -> Served {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/pgbackrest"), "pgbackrest is not installed (scripts/test installs it)")
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-\(name)-\(UUID().uuidString)")
        let dataDirectory = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        let server = try ServerProcess(environment: Self.environment.merging(["INTAKE_DATA_DIR": dataDirectory.path]) { $1 })
        try await server.start(timeout: .seconds(120))
        let base = await server.url
        // The first start takes a full backup by itself.
        try await waitUntil("the first full backup is listed", timeout: .seconds(120)) {
            let list = try await intake(["backup", "list"], dataDirectory: dataDirectory)
            return list.status == 0 && list.output.contains(" full ")
        }
        let token = try #require(try await TestHTTP.post(base + "/v1/sessions", #"{"email":"backup-admin@example.com","password":"backup-admin-password"}"#).json["access_token"] as? String)
        let product = try #require(try await TestHTTP.post(
            base + "/v1/products", #"{"sku":"\#(name)","name":"p","price":"1.00","initial_stock":\#(stock)}"#, token: token).json["id"] as? String)
        return Served(root: root, dataDirectory: dataDirectory, server: server, base: base, token: token, product: product)
    }

    /// Starts the restored cluster in `restored` on a port of its own (archiving off), reads
    /// the ids of its orders, and stops it.
    func orderIDs(inRestored restored: URL, dataDirectory: URL) async throws -> Set<String> {
        let port = try LocalPorts.free()
        let bin = try #require(ProcessInfo.processInfo.environment["INTAKE_TEST_PG_BINDIR"] ?? "/usr/lib/postgresql/15/bin")
        let runAs = geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        func pgCtl(_ arguments: [String]) async throws -> Int32 {
            try await ChildProcess.run(
                runAs.first ?? "\(bin)/pg_ctl", Array(runAs.dropFirst()) + (runAs.isEmpty ? [] : ["\(bin)/pg_ctl"]) + arguments)
        }
        #expect(try await pgCtl([
            "-D", restored.path, "-l", restored.appendingPathComponent("check.log").path, "-w", "-t", "120", "-o",
            "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c archive_mode=off", "start",
        ]) == 0)
        let password = try String(contentsOf: dataDirectory.appendingPathComponent("postgres.password"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let copy = PostgresClient(configuration: try PostgresConfiguration(url: "postgres://intake:\(password)@127.0.0.1:\(port)/intake", poolSize: 1))
        defer { copy.shutdown() }
        do {
            let ids = try await copy.query("SELECT id::text AS id FROM orders").map { try $0.decode("id", as: String.self) }
            _ = try await pgCtl(["-D", restored.path, "-m", "fast", "-w", "stop"])
            return Set(ids)
        } catch {
            _ = try? await pgCtl(["-D", restored.path, "-m", "fast", "-w", "stop"])
            throw error
        }
    }

    /// Verifying a repository with no backup is a failure, not "ok: 0 backups".
    @Test func verifyingNoBackupFails() async throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        defer { try? FileManager.default.removeItem(at: root) }
        let verify = try await intake(["backup", "verify"], dataDirectory: root.appendingPathComponent("data"))
        #expect(verify.status != 0 && verify.output.contains("no backup"), "\(verify.output)")
    }

    @Test func aRestoreToTHoldsEveryOrderAcknowledgedBeforeTAndNoneAfter() async throws {
        let served = try await serveWithFirstBackup("pitr", stock: 1000)
        let (root, dataDirectory, server, base, token, product) = (served.root, served.dataDirectory, served.server, served.base, served.token, served.product)
        defer { try? FileManager.default.removeItem(at: root) }
        func order() async throws -> String {
            let created = try await TestHTTP.post(base + "/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}]}"#, token: token)
            #expect(created.status == 201)
            return try #require(created.json["id"] as? String)
        }
        var before: [String] = []
        for _ in 0..<5 { before.append(try await order()) }
        // An incremental in between: recovery starts from the last backup before T.
        let incremental = try await intake(["backup", "--type", "incr"], dataDirectory: dataDirectory)
        #expect(incremental.status == 0, "\(incremental.output)")
        for _ in 0..<5 { before.append(try await order()) }
        try await Task.sleep(for: .milliseconds(300))
        let target = Date()
        try await Task.sleep(for: .milliseconds(300))
        var after: [String] = []
        for _ in 0..<5 { after.append(try await order()) }

        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let restored = root.appendingPathComponent("restored")
        let restore = try await intake(["restore", "--target-time", formatter.string(from: target), "--to", restored.path], dataDirectory: dataDirectory)
        #expect(restore.status == 0, "\(restore.output)")
        print("PITR \(restore.output.split(separator: "\n").joined(separator: "; "))")
        #expect(restore.output.contains("last transaction restored: "))

        // DATA.md: a restored copy archives nowhere until told to.
        let autoConf = try String(contentsOf: restored.appendingPathComponent("postgresql.auto.conf"), encoding: .utf8)
        #expect(autoConf.contains("archive_mode = 'off'"), "\(autoConf)")

        // The copy, started on its own: the orders of before T, none of after.
        let ids = try await orderIDs(inRestored: restored, dataDirectory: dataDirectory)
        #expect(Set(before).isSubset(of: ids), "every order acknowledged before T is restored")
        #expect(ids.isDisjoint(with: Set(after)), "no order acknowledged after T is restored")
        #expect(ids.count == before.count)

        // Refusals: before the first backup, in the future, over a directory that is not empty.
        #expect(try await intake(["restore", "--target-time", "2020-01-01T00:00:00Z", "--to", root.appendingPathComponent("r2").path], dataDirectory: dataDirectory).status != 0)
        #expect(try await intake(["restore", "--target-time", "2099-01-01T00:00:00Z", "--to", root.appendingPathComponent("r3").path], dataDirectory: dataDirectory).status != 0)
        let occupied = try await intake(["restore", "--target-time", formatter.string(from: target), "--to", restored.path], dataDirectory: dataDirectory)
        #expect(occupied.status != 0 && occupied.output.contains("not empty"), "\(occupied.output)")
        // Never into (or around) the running cluster or the repository: an empty directory
        // inside the cluster's data directory broke every later backup.
        let lock = try Data(contentsOf: dataDirectory.appendingPathComponent("intake.lock"))
        let postgresData = try #require((try JSONSerialization.jsonObject(with: lock) as? [String: Any])?["postgres_data"] as? String)
        for inside in [postgresData + "/pg_snapshots", postgresData + "/pg_tblspc", dataDirectory.appendingPathComponent("backups/inside").path] {
            let refused = try await intake(["restore", "--target-time", formatter.string(from: target), "--to", inside], dataDirectory: dataDirectory)
            #expect(refused.status != 0 && refused.output.contains("inside or around"), "\(inside): \(refused.output)")
        }
        // RFC 3339 needs an offset: a local time without one is refused, not read as UTC.
        let local = try await intake(["restore", "--target-time", "2026-11-29T10:40:00", "--to", root.appendingPathComponent("r4").path], dataDirectory: dataDirectory)
        #expect(local.status != 0 && local.output.contains("--target-time"), "\(local.output)")
        let verify = try await intake(["backup", "verify"], dataDirectory: dataDirectory)
        #expect(verify.status == 0, "\(verify.output)")
        // A damaged file in a backup fails the verification (hostile review, session 13:
        // pgBackRest 2.45's `verify` exits 0 whatever it finds, and this said "ok").
        // A file of the latest backup, the one `restore --latest` starts from.
        let sets = dataDirectory.appendingPathComponent("backups/repo/backup/intake")
        let latest = try #require(try FileManager.default.contentsOfDirectory(atPath: sets.path).filter { $0.first?.isNumber == true }.max())
        let files = FileManager.default.enumerator(at: sets.appendingPathComponent(latest), includingPropertiesForKeys: [.fileSizeKey])
        let victim = try #require((files?.allObjects as? [URL])?.first {
            $0.pathExtension == "lz4" && $0.path.contains("/pg_data/base/") && ((try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) > 2048
        })
        let handle = try FileHandle(forWritingTo: victim)
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data("XXXXXXXX".utf8))
        try handle.close()
        let damaged = try await intake(["backup", "verify"], dataDirectory: dataDirectory)
        #expect(damaged.status == 1, "\(damaged.output)")
        #expect(damaged.output.contains("checksum invalid: 1") && !damaged.output.contains("ok: "), "\(damaged.output)")
        // A restore that fails leaves nothing in its directory, so that it can be run again
        // there (hostile review, session 13: the retry failed as "not empty"). pgBackRest
        // tries the damaged file again before it gives up (about 35 s).
        let broken = root.appendingPathComponent("broken")
        let failed = try await intake(["restore", "--latest", "--to", broken.path], dataDirectory: dataDirectory)
        print("RESTORE OF A DAMAGED BACKUP: \(failed.output.split(separator: "\n").last ?? "")")
        #expect(failed.status != 0, "\(failed.output)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: broken.path)) ?? []).isEmpty)
        #expect(try await server.stop() == 0)
    }

    /// DATA.md: RPO ≤ 1 minute for a lost disk. Orders for 65 s, then the cluster's disk is
    /// destroyed (`kill -9` of `intake serve` and of the postmaster, its data directory
    /// removed); `intake restore --latest` brings back what was archived, without the cluster.
    /// Every order acknowledged more than a minute (and the archiver's push) before the loss
    /// is there; the loss window is printed.
    @Test func aLostDiskLosesAtMostTheLastMinuteOfOrders() async throws {
        let served = try await serveWithFirstBackup("lost-disk", stock: 1_000_000)
        let (root, dataDirectory, first, product) = (served.root, served.dataDirectory, served.server, served.product)
        defer { try? FileManager.default.removeItem(at: root) }
        // Restarted without a backup since: the bound holds from every start, not only from
        // the first backup's (hostile review, session 13: after a restart nothing was archived
        // for the first 5 minutes — Postgres's checkpointer leaves `archive_timeout` out of
        // the sleep it takes while the server starts).
        #expect(try await first.stop() == 0)
        let server = try ServerProcess(environment: Self.environment.merging(["INTAKE_DATA_DIR": dataDirectory.path]) { $1 })
        try await server.start(timeout: .seconds(120))
        let base = await server.url
        let token = try #require(try await TestHTTP.post(base + "/v1/sessions", #"{"email":"backup-admin@example.com","password":"backup-admin-password"}"#).json["access_token"] as? String)

        // Two clients ordering for 65 s: longer than archive_timeout, so the archive's end is
        // set by it and not by the run's start.
        let acknowledged = Shared<[(id: String, at: Date)]>([])
        let until = ContinuousClock.now + .seconds(65)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    while ContinuousClock.now < until {
                        let created = try await TestHTTP.post(base + "/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}]}"#, token: token)
                        if created.status == 201, let id = created.json["id"] as? String {
                            acknowledged.withLock { $0.append((id, Date())) }
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
            try await group.waitForAll()
        }

        // The disk dies: the server and the postmaster killed, the cluster's directory gone.
        let lock = try Data(contentsOf: dataDirectory.appendingPathComponent("intake.lock"))
        let owner = try #require(try JSONSerialization.jsonObject(with: lock) as? [String: Any])
        let postgresData = try #require(owner["postgres_data"] as? String)
        let postmaster = try String(contentsOfFile: postgresData + "/postmaster.pid", encoding: .utf8)
        let postmasterPID = try #require(postmaster.split(separator: "\n").first.flatMap { Int32($0) })
        // The embedded Redis dies with the disk too (left running, it outlived the test run).
        let redisPID = (try? String(contentsOf: dataDirectory.appendingPathComponent("redis/redis.pid"), encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let destroyedAt = Date()
        _ = try await server.stop(signal: SIGKILL)
        kill(postmasterPID, SIGKILL)
        if let redisPID { kill(redisPID, SIGKILL) }
        try await waitUntil("the postmaster is gone") { ChildProcess.exited(postmasterPID) }
        try FileManager.default.removeItem(atPath: postgresData)

        let restored = root.appendingPathComponent("restored")
        let restore = try await intake(["restore", "--latest", "--to", restored.path], dataDirectory: dataDirectory)
        #expect(restore.status == 0, "\(restore.output)")
        let ids = try await orderIDs(inRestored: restored, dataDirectory: dataDirectory)

        let orders = acknowledged.withLock { $0 }
        let lost = orders.filter { !ids.contains($0.id) }
        let window = lost.map { destroyedAt.timeIntervalSince($0.at) }.max() ?? 0
        print("LOST DISK: \(lost.count) of \(orders.count) acknowledged orders lost, all acknowledged within \(String(format: "%.1f", window)) s before the disk died (RPO); \(restore.output.split(separator: "\n").joined(separator: "; "))")
        #expect(orders.count > 100)
        #expect(window <= 60, "an order acknowledged \(window) s before the loss is gone: DATA.md's RPO is one minute (archive_timeout 50 s and the archiver's push)")
        // The clients had stopped before the loss: every committed order was acknowledged.
        #expect(ids.isSubset(of: Set(orders.map(\.id))), "nothing restored that was never acknowledged")
    }
}
