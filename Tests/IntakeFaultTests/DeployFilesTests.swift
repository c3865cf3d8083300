import AsyncHTTPClient
import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

/// The operator's files in `deploy/` name only metrics a running `intake serve` exports: a
/// renamed metric would leave a dashboard panel empty and an alert silent.
@Suite("deploy/: the Grafana dashboard and the alert rules", .serialized)
struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Metric families named in `text` (Intake's own and Hummingbird's request metrics).
    static func metricNames(in text: String) throws -> Set<String> {
        let pattern = try NSRegularExpression(pattern: #"\b(intake_[a-z_]+|hb_[a-z_]+|http_server_[a-z_]+)\b"#)
        let range = NSRange(text.startIndex..., in: text)
        return Set(pattern.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } })
    }



    @Test func everyMetricTheDashboardAndTheAlertsNameIsExported() async throws {
        let dashboard = try String(contentsOf: Self.root.appendingPathComponent("deploy/grafana/intake.json"), encoding: .utf8)
        let alerts = try String(contentsOf: Self.root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        #expect(try JSONSerialization.jsonObject(with: Data(dashboard.utf8)) is [String: Any], "the dashboard is JSON")
        let named = try Self.metricNames(in: dashboard).union(Self.metricNames(in: alerts))
        #expect(named.count >= 10)
        for alert in ["error", "Latency", "OutboxLag", "QueueBacklog", "EtlRunFailed", "DataQuality"] {
            #expect(alerts.localizedCaseInsensitiveContains(alert), "an alert on \(alert)")
        }
        try await TestServices.withDatabase { url in
            let dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-deploy-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dataDirectory) }
            let server = try ServerProcess(environment: [
                "INTAKE_DATABASE_URL": url, "INTAKE_REDIS_URL": try TestServices.redisURL(), "INTAKE_EVENT_STREAM": "deploy:\(UUID().uuidString)",
                "INTAKE_DATA_DIR": dataDirectory.path, "INTAKE_ADMIN_EMAIL": "deploy@example.com", "INTAKE_ADMIN_PASSWORD": "deploy-password",
                "INTAKE_BCRYPT_COST": "4", "INTAKE_LOG_LEVEL": "warning",
            ])
            try await server.start()
            let base = await server.url
            let token = try #require(try await TestHTTP.post(base + "/v1/sessions", #"{"email":"deploy@example.com","password":"deploy-password"}"#).json["access_token"] as? String)
            let product = try #require(try await TestHTTP.post(
                base + "/v1/products", #"{"sku":"DEPLOY","name":"d","price":"1.00","initial_stock":5}"#, token: token).json["id"] as? String)
            _ = try await TestHTTP.post(base + "/v1/orders", #"{"items":[{"product_id":"\#(product)","quantity":1}]}"#, token: token)
            var missing = named
            try await waitUntil("every named metric is exported") {
                let exported = Set(try await TestHTTP.get(base + "/metrics").body.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap {
                    $0.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
                })
                missing = named.subtracting(exported)
                return missing.isEmpty
            }
            #expect(missing.isEmpty, "named but not exported: \(missing.sorted())")
            #expect(try await server.stop() == 0)
        }
    }
}
