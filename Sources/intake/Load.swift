import ArgumentParser
import Foundation
import IntakeLoad
import IntakeRuntime
import IntakeServer
import Logging

struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive an order workload, then verify that no order was lost and no stock oversold.",
        discussion: """
            HTTP mode (default) targets a running server: --url, an admin to create products, the webhook secret to pay, \
            and the server's Postgres and Redis URLs to verify from. Against the server scripts/run started (an intake \
            serve owning --data-dir, default ./.intake) all of these are found in its data directory, and an admin is \
            made for the run when none is given. --in-process drives the embeddable order service directly on the \
            configured (or embedded) Postgres and Redis. Exit status 1 when a check fails.
            """)

    @Option(help: "The server (HTTP mode; default: the intake serve owning --data-dir, else http://127.0.0.1:8080).")
    var url: String?

    @Flag(help: "Drive the order service in this process instead of a server.")
    var inProcess = false

    @Option(help: "Admin email (INTAKE_ADMIN_EMAIL).")
    var adminEmail: String?

    @Option(help: "Admin password (INTAKE_ADMIN_PASSWORD).")
    var adminPassword: String?

    @Option(help: "The server's webhook secret, to pay through the signed webhook (INTAKE_WEBHOOK_SECRET).")
    var webhookSecret: String?

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Products to create.")
    var products = 100

    @Option(help: "This many products get --hot-share percent of the picks (0: uniform).")
    var hotProducts = 0

    @Option(help: "Percentage of picks that go to the hot products.")
    var hotShare = 80

    @Option(help: "Initial stock of each product.")
    var stock = 1_000_000

    @Option(help: "Stock shards per product.")
    var shards = 8

    @Option(help: "Items per order: 1...N distinct products.")
    var items = 1

    @Option(help: "Customers placing the orders.")
    var users = 16

    @Option(parsing: .unconditional, help: "How long to drive load: seconds or 30s, 2m.")
    var duration: String?

    @Option(help: "Stop after this many requests (instead of, or before, --duration).")
    var requests: Int?

    @Option(help: "Concurrent requests.")
    var concurrency = 64

    @Option(help: "Operation mix.")
    var mix = OperationMix.standard.description

    @Option(help: "Write the whole report as JSON to this file.")
    var json: String?

    @Option(help: "Write the report as one self-contained HTML page (charts in SVG, no script or CDN) to this file.")
    var report: String?

    @Option(help: "How long verification waits for the relay to publish every event: seconds or 30s, 2m.")
    var eventWait = "60s"

    @Flag(help: "No progress lines.")
    var quiet = false

    @Option(
        help: ArgumentHelp(
            "Report this process's CPU per order over the measured phase, from /proc (repeatable; LABEL=self for this one).",
            discussion: "A process's CPU includes its children's, live and exited: give a Postgres postmaster's pid for the whole cluster's.",
            valueName: "label=pid"))
    var cpu: [String] = []

    func run() async throws {
        try await reportingErrors {
            let configuration = try connection.configuration()
            LoggingSetup.bootstrap(format: .text, level: max(configuration.logLevel, .warning))
            var options = LoadOptions()
            options.mode = inProcess ? .inProcess : .http
            let instance = inProcess ? nil : RunningInstance.find(configuration)
            options.url = url ?? instance?.owner.httpURL ?? "http://127.0.0.1:8080"
            options.adminEmail = adminEmail ?? configuration.adminEmail
            options.adminPassword = adminPassword ?? configuration.adminPassword
            options.webhookSecret = webhookSecret ?? configuration.webhookSecret ?? instance?.secrets["INTAKE_WEBHOOK_SECRET"]
            options.eventStream = configuration.eventStream
            options.eventTypePrefix = configuration.eventTypePrefix
            options.products = products
            options.hotProducts = hotProducts
            options.hotShare = hotShare
            options.stockPerProduct = stock
            options.shards = shards
            options.maxItems = items
            options.users = users
            options.requests = requests
            options.duration = try duration.map { try parse($0, "--duration") } ?? (requests == nil ? .seconds(10) : nil)
            options.concurrency = concurrency
            options.mix = try OperationMix(parsing: mix)
            options.jsonPath = json
            // Checked before the load: a run of minutes must not end in a report it cannot write.
            if let json { try Self.checkWritable(json, flag: "--json") }
            if let report { try Self.checkWritable(report, flag: "--report") }
            options.eventWait = try parse(eventWait, "--event-wait")
            options.progress = !quiet
            options.cpu = try cpu.map { try ProcessCPU(parsing: $0) }
            // The checks that need no server first; the admin is settled below.
            let madeAdmin = options.mode == .http && (options.adminEmail == nil || options.adminPassword == nil)
            if madeAdmin {
                options.adminEmail = "placeholder@intake.local"
                options.adminPassword = "placeholder"
            }
            try options.validate()

            let logger = Logger(label: "intake.load")
            let target: any LoadTarget
            let verifier: Verifier
            var clients: [() -> Void] = []
            var madeFor: LoadAdmin?
            switch options.mode {
            case .inProcess:
                let inProcess = try await InProcessLoadTarget.start(configuration, logger: logger)
                target = inProcess
                verifier = inProcess.verifier(options)
            case .http:
                // Reading the owner's embedded servers: join their users, so that a server
                // stopped meanwhile keeps them up until this run (verification included) is
                // done, as every command attached to them does (README, "data directory").
                if let instance, configuration.databaseURL == nil || configuration.redisURL == nil {
                    let joined = try DataDirectoryUsers.join(configuration.dataDirectory, whileOwnedBy: instance.owner.pid)
                    if joined == nil {
                        throw LoadError("the intake serve owning \(configuration.dataDirectory.path) (pid \(instance.owner.pid)) is stopping or gone")
                    }
                    clients.append { joined?.release() }
                }
                guard let databaseURL = configuration.databaseURL ?? instance?.databaseURL,
                    let redisURL = configuration.redisURL ?? instance?.redisURL
                else {
                    throw LoadError(
                        "verification reads the server's Postgres and Redis: no intake serve owns \(configuration.dataDirectory.path); "
                            + "give --database-url and --redis-url (or INTAKE_DATABASE_URL, INTAKE_REDIS_URL), or --data-dir of the server")
                }
                let db = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL, poolSize: 4))
                let redis = RedisClient(configuration: try RedisConfiguration(url: redisURL, poolSize: 2))
                clients += [db.shutdown, redis.shutdown]
                // Verification's prerequisites, checked before the run rather than after it.
                do {
                    _ = try await db.query("SELECT 1")
                } catch {
                    clients.forEach { $0() }
                    throw LoadError("verification cannot read the server's Postgres (\((try? PostgresConfiguration(url: databaseURL).redactedURL) ?? "the configured URL")): \(error)")
                }
                do {
                    _ = try await redis.command("PING")
                } catch {
                    clients.forEach { $0() }
                    throw LoadError("verification cannot read the server's Redis (\((try? RedisConfiguration(url: redisURL).redactedURL) ?? "the configured URL")): \(error)")
                }
                if madeAdmin {
                    guard let key = configuration.piiKey ?? instance?.secrets["INTAKE_PII_KEY"], let piiKey = Data(base64Encoded: key) else {
                        clients.forEach { $0() }
                        throw LoadError(
                            "HTTP mode needs an admin to create products: give --admin-email and --admin-password (or INTAKE_ADMIN_EMAIL, "
                                + "INTAKE_ADMIN_PASSWORD), or INTAKE_PII_KEY so that one can be made for the run")
                    }
                    let admin = try await LoadAdmin.create(db: db, piiKey: [UInt8](piiKey))
                    options.adminEmail = admin.email
                    options.adminPassword = admin.password
                    madeFor = admin
                }
                verifier = Verifier(db: db, redis: redis, stream: options.eventStream, eventTypePrefix: options.eventTypePrefix, eventWait: options.eventWait)
                do {
                    target = try await HTTPLoadTarget.connect(options)
                } catch {
                    await erase(madeFor, logger: logger)
                    clients.forEach { $0() }
                    throw error
                }
            }
            let report: LoadReport
            do {
                report = try await LoadRunner(options: options, target: target, verifier: verifier).run()
            } catch {
                await target.shutdown()
                await erase(madeFor, logger: logger)
                clients.forEach { $0() }
                throw error
            }
            await target.shutdown()
            await erase(madeFor, logger: logger)
            clients.forEach { $0() }
            print(report.text)
            if let json { try Self.write(try report.json(), to: json, flag: "--json") }
            if let page = self.report { try Self.write(Data(report.html().utf8), to: page, flag: "--report") }
            if !report.verification.passed { throw ExitCode.failure }
        }
    }

    /// Erases the admin made for the run, if one was.
    private func erase(_ admin: LoadAdmin?, logger: Logger) async {
        guard let admin else { return }
        do {
            try await admin.erase()
        } catch {
            logger.warning("could not erase the admin made for the run", metadata: ["email": "\(admin.email)", "error": "\(error)"])
        }
    }

    /// `path`'s directory exists and takes files, and `path` is not a directory.
    static func checkWritable(_ path: String, flag: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LoadError("\(flag) \(path): no directory \(directory)")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else { throw LoadError("\(flag) \(path): \(directory) is not writable") }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw LoadError("\(flag) \(path): is a directory")
        }
    }

    static func write(_ data: Data, to path: String, flag: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw LoadError("\(flag) \(path): could not write the report (\((error as NSError).localizedDescription))")
        }
    }

    private func parse(_ text: String, _ flag: String) throws -> Duration {
        guard let value = DurationText.parse(text), value > .zero else {
            throw LoadError("\(flag): expected seconds (30) or a number with a unit (30s, 2m)")
        }
        guard value <= .seconds(3650 * 86_400) else { throw LoadError("\(flag): at most 3650d (ten years)") }
        return value
    }
}
