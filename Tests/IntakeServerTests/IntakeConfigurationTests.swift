import Foundation
import IntakeServer
import Testing

@Suite struct IntakeConfigurationTests {
    /// `eval "$(intake env)"` exports the embedded cluster's URL: commands that work only on
    /// the embedded cluster (backups, restores) must still see it as embedded.
    @Test func theEmbeddedClustersOwnURLCountsAsEmbedded() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "s3cret\n".write(to: directory.appendingPathComponent("postgres.password"), atomically: true, encoding: .utf8)
        func embedded(_ url: String?) throws -> Bool {
            var variables = ["INTAKE_DATA_DIR": directory.path]
            if let url { variables["INTAKE_DATABASE_URL"] = url }
            return try IntakeConfiguration.load(from: variables).usesEmbeddedPostgres
        }
        #expect(try embedded(nil))
        #expect(try embedded("postgres://intake:s3cret@127.0.0.1:54321/intake"))
        #expect(try !embedded("postgres://intake:other@127.0.0.1:54321/intake"), "another cluster's password")
        #expect(try !embedded("postgres://intake:s3cret@db.example.com:5432/intake"), "another host")
        #expect(try !embedded("postgres://intake:s3cret@127.0.0.1:54321/shop"), "another database")
        #expect(try !embedded("postgres://intake:s3cret@127.0.0.1:54321/intake?target_session_attrs=read-write"))
    }

    @Test func defaultsMatchTheDocumentedOnes() throws {
        let configuration = try IntakeConfiguration.load(from: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.dataDirectory.lastPathComponent == ".intake")
        #expect(configuration.databaseURL == nil)
        #expect(configuration.redisURL == nil)
        #expect(configuration.environment == .development)
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .json)
    }

    @Test func readsEveryVariable() throws {
        let configuration = try IntakeConfiguration.load(from: [
            "INTAKE_HOST": "0.0.0.0", "INTAKE_PORT": "9000", "INTAKE_DATA_DIR": "/var/lib/intake",
            "INTAKE_DATABASE_URL": "postgres://u@db/intake", "INTAKE_REDIS_URL": "redis://cache:6379/1",
            "INTAKE_ENV": "production", "INTAKE_LOG_LEVEL": "debug", "INTAKE_LOG_FORMAT": "text",
            "INTAKE_DB_POOL_SIZE": "32", "INTAKE_REDIS_POOL_SIZE": "4", "INTAKE_EVENT_STREAM": "orders:events",
            "INTAKE_EVENT_WEBHOOKS": "https://a.example/hook, http://b.example/x", "INTAKE_PAYMENT_TTL": "90s",
            "INTAKE_EVENT_TYPE_PREFIX": "io.shop", "INTAKE_TOKEN_TTL": "15m", "INTAKE_STOCK_SHARDS": "16",
            "INTAKE_JWT_SECRET": "j-0123456789abcdef0123456789abcdef", "INTAKE_WEBHOOK_SECRET": "w-secret",
            "INTAKE_PII_KEY": Data(repeating: 1, count: 32).base64EncodedString(), "INTAKE_ADMIN_EMAIL": "root@example.com",
            "INTAKE_ADMIN_PASSWORD": "root-password", "INTAKE_BCRYPT_COST": "12",
        ])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000)
        #expect(configuration.dataDirectory.path == "/var/lib/intake")
        #expect(configuration.databaseURL == "postgres://u@db/intake")
        #expect(configuration.redisURL == "redis://cache:6379/1")
        #expect(configuration.environment == .production)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .text)
        #expect(configuration.databasePoolSize == 32)
        #expect(configuration.redisPoolSize == 4)
        #expect(configuration.eventStream == "orders:events")
        #expect(configuration.paymentTTL == .seconds(90))
        #expect(configuration.eventTypePrefix == "io.shop")
        #expect(configuration.eventWebhooks == ["https://a.example/hook", "http://b.example/x"])
        #expect(configuration.tokenTTL == .seconds(900))
        #expect(configuration.stockShards == 16)
        #expect(configuration.jwtSecret == "j-0123456789abcdef0123456789abcdef")
        #expect(configuration.webhookSecret == "w-secret")
        #expect(configuration.adminEmail == "root@example.com")
        #expect(configuration.adminPassword == "root-password")
        #expect(configuration.bcryptCost == 12)
        try configuration.validate()
    }

    @Test(arguments: [
        ("INTAKE_PORT", "http"), ("INTAKE_PORT", "70000"), ("INTAKE_ENV", "staging"), ("INTAKE_LOG_LEVEL", "loud"),
        ("INTAKE_LOG_FORMAT", "xml"), ("INTAKE_DB_POOL_SIZE", "0"), ("INTAKE_EVENT_WEBHOOKS", "ftp://x"), ("INTAKE_EVENT_WEBHOOKS", "http://"), ("INTAKE_PAYMENT_TTL", "soon"), ("INTAKE_PAYMENT_TTL", "0"),
        ("INTAKE_PAYMENT_TTL", "300000000000"), ("INTAKE_TOKEN_TTL", "3651d"),
        ("INTAKE_PAYMENT_TTL", "2562047788015216h"), ("INTAKE_TOKEN_TTL", "153722867280912931m"), ("INTAKE_JOB_LEASE", "106751991167301d"),
        ("INTAKE_HOT_RETENTION", "bogus"), ("INTAKE_COLD_AFTER", "3 years"),
    ])
    func badValuesNameTheVariable(name: String, value: String) {
        do {
            _ = try IntakeConfiguration.load(from: [name: value])
            Issue.record("\(name)=\(value) must be rejected")
        } catch let error as ConfigurationError {
            #expect(error.message.contains(name))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func storageTiersAndTheBackupDirectoryAreRead() throws {
        let configuration = try IntakeConfiguration.load(from: [
            "INTAKE_HOT_RETENTION": "6mo", "INTAKE_COLD_AFTER": "2y", "INTAKE_BACKUP_DIR": "/srv/intake-backups", "INTAKE_DATA_DIR": "/srv/intake",
        ])
        let data = try configuration.dataSettings()
        #expect(data.hotRetention.description == "6mo")
        #expect(data.coldAfter.description == "2y")
        #expect(configuration.backupDirectory.path == "/srv/intake-backups")
        #expect(try IntakeConfiguration.load(from: ["INTAKE_DATA_DIR": "/srv/intake"]).backupDirectory.path == "/srv/intake/backups")
        #expect(try IntakeConfiguration.load(from: [:]).dataSettings().hotRetention.description == "12mo")
    }

    @Test func productionRefusesEmbeddedServers() throws {
        let configuration = try IntakeConfiguration.load(from: ["INTAKE_ENV": "production", "INTAKE_REDIS_URL": "redis://cache:6379/0"])
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }

    @Test func productionRequiresEverySecretAndKeysAreChecked() throws {
        var variables = ["INTAKE_ENV": "production", "INTAKE_DATABASE_URL": "postgres://u@db/intake", "INTAKE_REDIS_URL": "redis://cache:6379/0"]
        #expect(throws: ConfigurationError.self) { try IntakeConfiguration.load(from: variables).validate() }
        variables["INTAKE_JWT_SECRET"] = "j-0123456789abcdef0123456789abcdef"
        variables["INTAKE_WEBHOOK_SECRET"] = "w"
        variables["INTAKE_PII_KEY"] = Data(repeating: 1, count: 16).base64EncodedString()
        #expect(throws: ConfigurationError.self) { try IntakeConfiguration.load(from: variables).validate() }
        variables["INTAKE_PII_KEY"] = Data(repeating: 1, count: 32).base64EncodedString()
        try IntakeConfiguration.load(from: variables).validate()
    }

    @Test func developmentSecretsAreGeneratedOnceWithOwnerOnlyPermissions() throws {
        var configuration = IntakeConfiguration()
        configuration.dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-secrets-\(UUID())")
        defer { try? FileManager.default.removeItem(at: configuration.dataDirectory) }
        let first = try IntakeSecrets.resolve(configuration, logger: .init(label: "test"))
        let again = try IntakeSecrets.resolve(configuration, logger: .init(label: "test"))
        #expect(first.jwtSecret == again.jwtSecret)
        #expect(first.piiKey == again.piiKey)
        #expect(first.piiKey.count == 32)
        let file = configuration.dataDirectory.appendingPathComponent("secrets").path
        let permissions = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test func badURLsAreReportedBeforeAnythingStarts() throws {
        let badDatabase = try IntakeConfiguration.load(from: ["INTAKE_DATABASE_URL": "not a url"])
        #expect(throws: ConfigurationError.self) { try badDatabase.validate() }
        let badRedis = try IntakeConfiguration.load(from: ["INTAKE_REDIS_URL": "http://cache"])
        #expect(throws: ConfigurationError.self) { try badRedis.validate() }
    }
}
