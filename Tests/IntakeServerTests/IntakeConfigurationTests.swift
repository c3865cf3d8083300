import Foundation
import IntakeServer
import Testing

@Suite struct IntakeConfigurationTests {
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
            "INTAKE_EVENT_TYPE_PREFIX": "io.shop",
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
        try configuration.validate()
    }

    @Test(arguments: [
        ("INTAKE_PORT", "http"), ("INTAKE_PORT", "70000"), ("INTAKE_ENV", "staging"), ("INTAKE_LOG_LEVEL", "loud"),
        ("INTAKE_LOG_FORMAT", "xml"), ("INTAKE_DB_POOL_SIZE", "0"), ("INTAKE_EVENT_WEBHOOKS", "ftp://x"), ("INTAKE_PAYMENT_TTL", "soon"), ("INTAKE_PAYMENT_TTL", "0"),
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

    @Test func productionRefusesEmbeddedServers() throws {
        let configuration = try IntakeConfiguration.load(from: ["INTAKE_ENV": "production", "INTAKE_REDIS_URL": "redis://cache:6379/0"])
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }

    @Test func badURLsAreReportedBeforeAnythingStarts() throws {
        let badDatabase = try IntakeConfiguration.load(from: ["INTAKE_DATABASE_URL": "not a url"])
        #expect(throws: ConfigurationError.self) { try badDatabase.validate() }
        let badRedis = try IntakeConfiguration.load(from: ["INTAKE_REDIS_URL": "http://cache"])
        #expect(throws: ConfigurationError.self) { try badRedis.validate() }
    }
}
