import Foundation
import IntakeData
import IntakeRuntime
import Logging

/// Everything `intake` can be configured with. Each setting comes from an `INTAKE_*`
/// environment variable, and `intake serve` flags override them.
public struct IntakeConfiguration: Sendable {
    /// `development` generates secrets and may start embedded servers; `production` requires
    /// both URLs and refuses embedded servers.
    public enum Environment: String, Sendable {
        case development, production
    }

    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = URL(fileURLWithPath: ".intake")
    /// The embedded cluster's pgBackRest repository (`INTAKE_BACKUP_DIR`); nil: `<data dir>/backups`.
    public var backupDirectorySetting: URL?
    public var backupDirectory: URL { backupDirectorySetting ?? dataDirectory.appendingPathComponent("backups") }

    /// Whether Postgres is the data directory's embedded cluster: no URL, or the one
    /// `intake env` exported for it (`eval "$(intake env)"` must not turn it into "your own").
    public var usesEmbeddedPostgres: Bool {
        databaseURL.map { EmbeddedPostgres.isURL($0, ofClusterIn: dataDirectory) } ?? true
    }
    /// Nil: start the embedded Postgres.
    public var databaseURL: String?
    /// Nil: start the embedded Redis.
    public var redisURL: String?
    public var environment = Environment.development
    public var logLevel = Logger.Level.info
    public var logFormat = LoggingSetup.Format.json
    public var databasePoolSize = 16
    public var redisPoolSize = 8
    /// The Redis stream the outbox relay publishes CloudEvents to.
    public var eventStream = "intake:events"
    /// Unpaid PENDING orders are canceled after this.
    public var paymentTTL: Duration = .seconds(900)
    /// The prefix of event types (`<prefix>.order.created`).
    public var eventTypePrefix = "com.example"
    /// Webhook subscribers that receive every event (CloudEvents structured mode).
    public var eventWebhooks: [String] = []
    /// OpenTelemetry collector (OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318`) that
    /// receives traces; nil: no tracing (`INTAKE_OTLP_ENDPOINT`).
    public var otlpEndpoint: String?

    /// Access token and session lifetime.
    public var tokenTTL: Duration = .seconds(3600)
    /// Shards of a product created without `stock_shards`.
    public var stockShards = 8
    /// Secrets; nil in development means "generate once into the data directory".
    public var jwtSecret: String?
    public var webhookSecret: String?
    /// Base64 of 32 bytes.
    public var piiKey: String?
    /// An admin to create on start when absent.
    public var adminEmail: String?
    public var adminPassword: String?
    /// bcrypt cost of password hashes.
    public var bcryptCost = 10
    /// How long a job stays taken by a worker that stopped heartbeating (a crashed process)
    /// before the rescuer makes it available again.
    public var jobLease: Duration = .seconds(60)
    /// The data side's variables (`INTAKE_LAKE_DIR`, `INTAKE_WAREHOUSE_PATH`,
    /// `INTAKE_ETL_SCHEDULE`, `INTAKE_DQ_WARN`, `INTAKE_DUCKDB`, `INTAKE_HOT_RETENTION`,
    /// `INTAKE_COLD_AFTER`), read by `dataSettings()`.
    public var dataVariables: [String: String] = [:]

    public init() {}

    /// The data side's settings: its variables over defaults under the data directory.
    public func dataSettings() throws -> DataSettings {
        do {
            return try DataSettings.load(from: dataVariables, dataDirectory: dataDirectory, eventTypePrefix: eventTypePrefix)
        } catch let error as DataError {
            throw ConfigurationError(error.message)
        }
    }

    /// Reads the `INTAKE_*` variables of `variables`; unknown values fail with the variable's
    /// name.
    public static func load(from variables: [String: String]) throws -> IntakeConfiguration {
        var configuration = IntakeConfiguration()
        let reader = Reader(variables: variables)
        if let host = reader.string("INTAKE_HOST") { configuration.host = host }
        if let port = try reader.integer("INTAKE_PORT", in: 0...65_535) { configuration.port = port }
        if let directory = reader.string("INTAKE_DATA_DIR") { configuration.dataDirectory = URL(fileURLWithPath: directory) }
        if let directory = reader.string("INTAKE_BACKUP_DIR") { configuration.backupDirectorySetting = URL(fileURLWithPath: directory) }
        configuration.databaseURL = reader.string("INTAKE_DATABASE_URL")
        configuration.redisURL = reader.string("INTAKE_REDIS_URL")
        if let environment = try reader.choice("INTAKE_ENV", Environment.self) { configuration.environment = environment }
        if let level = try reader.choice("INTAKE_LOG_LEVEL", Logger.Level.self) { configuration.logLevel = level }
        if let format = try reader.choice("INTAKE_LOG_FORMAT", LoggingSetup.Format.self) { configuration.logFormat = format }
        if let size = try reader.integer("INTAKE_DB_POOL_SIZE", in: 1...1000) { configuration.databasePoolSize = size }
        if let size = try reader.integer("INTAKE_REDIS_POOL_SIZE", in: 1...1000) { configuration.redisPoolSize = size }
        if let stream = reader.string("INTAKE_EVENT_STREAM") { configuration.eventStream = stream }
        if let prefix = reader.string("INTAKE_EVENT_TYPE_PREFIX") { configuration.eventTypePrefix = prefix }
        if let ttl = try reader.duration("INTAKE_PAYMENT_TTL") { configuration.paymentTTL = ttl }
        if let ttl = try reader.duration("INTAKE_TOKEN_TTL") { configuration.tokenTTL = ttl }
        if let shards = try reader.integer("INTAKE_STOCK_SHARDS", in: 1...64) { configuration.stockShards = shards }
        if let cost = try reader.integer("INTAKE_BCRYPT_COST", in: 4...31) { configuration.bcryptCost = cost }
        if let lease = try reader.duration("INTAKE_JOB_LEASE") { configuration.jobLease = lease }
        configuration.jwtSecret = reader.string("INTAKE_JWT_SECRET")
        configuration.webhookSecret = reader.string("INTAKE_WEBHOOK_SECRET")
        configuration.piiKey = reader.string("INTAKE_PII_KEY")
        configuration.adminEmail = reader.string("INTAKE_ADMIN_EMAIL")
        configuration.adminPassword = reader.string("INTAKE_ADMIN_PASSWORD")
        for name in [
            "INTAKE_LAKE_DIR", "INTAKE_WAREHOUSE_PATH", "INTAKE_ETL_SCHEDULE", "INTAKE_DQ_WARN", "INTAKE_DUCKDB", "INTAKE_HOT_RETENTION",
            "INTAKE_COLD_AFTER",
        ] {
            if let value = reader.string(name) { configuration.dataVariables[name] = value }
        }
        _ = try configuration.dataSettings()
        if let endpoint = reader.string("INTAKE_OTLP_ENDPOINT") {
            let scheme = URL(string: endpoint)?.scheme?.lowercased()
            guard scheme == "http" || scheme == "https", URL(string: endpoint)?.host?.isEmpty == false else {
                throw ConfigurationError("INTAKE_OTLP_ENDPOINT: \(endpoint) is not an http:// or https:// URL (an OTLP/HTTP collector, e.g. http://127.0.0.1:4318)")
            }
            configuration.otlpEndpoint = endpoint
        }
        if let hooks = reader.string("INTAKE_EVENT_WEBHOOKS") {
            configuration.eventWebhooks = hooks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for url in configuration.eventWebhooks
            where !(url.hasPrefix("http://") || url.hasPrefix("https://")) || URL(string: url)?.host?.isEmpty != false {
                throw ConfigurationError("INTAKE_EVENT_WEBHOOKS: \(url) is not an http:// or https:// URL with a host")
            }
        }
        return configuration
    }

    /// Checks the combination of settings (each value was checked on its own when read).
    public func validate() throws {
        if environment == .production && (databaseURL == nil || redisURL == nil) {
            throw ConfigurationError(
                "INTAKE_ENV=production needs INTAKE_DATABASE_URL and INTAKE_REDIS_URL: embedded servers are for development only")
        }
        if environment == .production {
            let missing = [("INTAKE_JWT_SECRET", jwtSecret), ("INTAKE_WEBHOOK_SECRET", webhookSecret), ("INTAKE_PII_KEY", piiKey)]
                .filter { $0.1 == nil }.map(\.0)
            if !missing.isEmpty {
                throw ConfigurationError("INTAKE_ENV=production needs \(missing.joined(separator: ", ")): secrets are generated in development only")
            }
        }
        if let piiKey, Data(base64Encoded: piiKey)?.count != 32 {
            throw ConfigurationError("INTAKE_PII_KEY: expected base64 of exactly 32 bytes (openssl rand -base64 32)")
        }
        if let jwtSecret, jwtSecret.utf8.count < 32 {
            throw ConfigurationError("INTAKE_JWT_SECRET: must be at least 32 characters")
        }
        if (adminEmail == nil) != (adminPassword == nil) {
            throw ConfigurationError("INTAKE_ADMIN_EMAIL and INTAKE_ADMIN_PASSWORD go together")
        }
        if let adminPassword, !(8...128).contains(adminPassword.unicodeScalars.count) {
            throw ConfigurationError("INTAKE_ADMIN_PASSWORD: must be 8..128 characters")
        }
        if let databaseURL {
            do { _ = try PostgresConfiguration(url: databaseURL) } catch let error as PostgresError {
                throw ConfigurationError("database URL (INTAKE_DATABASE_URL or --database-url): \(error.message)")
            }
        }
        if let redisURL {
            do { _ = try RedisConfiguration(url: redisURL) } catch let error as RedisError {
                throw ConfigurationError("Redis URL (INTAKE_REDIS_URL or --redis-url): \(error.message)")
            }
        }
    }

    /// Reads variables, treating empty ones as unset.
    struct Reader {
        static let longestDuration = Duration.seconds(3650 * 86_400)
        var variables: [String: String]

        func string(_ name: String) -> String? {
            guard let value = variables[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }

        func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
            guard let text = string(name) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError("\(name)=\(text): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }

        func duration(_ name: String) throws -> Duration? {
            guard let text = string(name) else { return nil }
            guard let value = DurationText.parse(text), value > .zero else {
                throw ConfigurationError("\(name)=\(text): expected seconds (900) or a number with a unit (90s, 15m, 1h)")
            }
            // Times computed from it (an order's expiry, a token's) must stay within what RFC
            // 3339 and Postgres write: ten years is past any sane setting.
            guard value <= Self.longestDuration else {
                throw ConfigurationError("\(name)=\(text): at most 3650d (ten years)")
            }
            return value
        }

        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
            guard let text = string(name) else { return nil }
            guard let value = T(rawValue: text.lowercased()) else {
                throw ConfigurationError("\(name)=\(text): expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return value
        }
    }
}

extension IntakeConfiguration.Environment: CaseIterable {}

/// A setting that cannot be used; the message names the variable or flag.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
