import Foundation
import HTTPTypes
import IntakeData
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Testing

@Suite("ETL runs and the daily-sales report over HTTP")
struct EtlRoutesTests {
    static let runFields: Set<String> = [
        "id", "pipeline", "logical_date", "status", "trigger", "started_at", "finished_at", "orders_extracted", "rows_loaded", "revenue",
        "output", "error",
    ]

    @Test func onlyAdminsMayUseThem() async throws {
        try await withAPI { h in
            let customer = try await h.customer()
            let calls: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/v1/etl/runs", #"{"pipeline":"daily_sales","date":"2026-11-01"}"#),
                (.get, "/v1/etl/runs", nil),
                (.get, "/v1/etl/runs/\(UUID().uuidString.lowercased())", nil),
                (.get, "/v1/reports/daily-sales?from=2026-11-01&to=2026-11-02", nil),
                (.get, "/v1/data-quality", nil),
            ]
            for (method, uri, json) in calls {
                let anonymous = try await h.call(method, uri, json: json)
                #expect(anonymous.status == .unauthorized, "\(method) \(uri)")
                #expect(anonymous.problem == "unauthorized")
                let forbidden = try await h.call(method, uri, json: json, token: customer.token)
                #expect(forbidden.status == .forbidden, "\(method) \(uri)")
                #expect(forbidden.problem == "forbidden")
                #expect(forbidden.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test func badRunRequestsAreValidationProblemsNamingTheField() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let tomorrow = LogicalDate(containing: Date()).adding(days: 1).description
            let cases: [(String, String)] = [
                (#"{"pipeline":"daily_sales","date":"\#(tomorrow)"}"#, "date"),
                (#"{"pipeline":"daily_sales","date":"2026-13-01"}"#, "date"),
                (#"{"pipeline":"daily_sales","date":"28/11/2026"}"#, "date"),
                (#"{"pipeline":"daily_sales"}"#, "date"),
                (#"{"pipeline":"daily_sales","date":20261128}"#, "date"),
                (#"{"pipeline":"weekly_sales","date":"2026-11-01"}"#, "pipeline"),
                (#"{"date":"2026-11-01"}"#, "pipeline"),
            ]
            for (body, field) in cases {
                let response = try await h.call(.post, "/v1/etl/runs", json: body, token: admin)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.problem == "validation", "\(body)")
                #expect((response.object["detail"] as? String)?.hasPrefix(field) == true, "\(body): \(response.text)")
            }
            #expect(try await h.db.query("SELECT count(*) AS n FROM etl_runs")[0].decode("n", as: Int.self) == 0)
            let malformed = try await h.call(.post, "/v1/etl/runs", json: "{", token: admin)
            #expect(malformed.status == .badRequest)
        }
    }

    @Test func aRunIsQueuedReadAndListed() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            var ids: [String] = []
            for day in ["2026-11-01", "2026-11-02", "2026-11-03"] {
                let created = try await h.call(.post, "/v1/etl/runs", json: #"{"pipeline":"daily_sales","date":"\#(day)"}"#, token: admin)
                #expect(created.status == .accepted, "\(created.text)")
                #expect(Set(created.object.keys) == Self.runFields)
                #expect(created.object["status"] as? String == "queued")
                #expect(created.object["trigger"] as? String == "manual")
                #expect(created.object["logical_date"] as? String == day)
                #expect(created.object["pipeline"] as? String == "daily_sales")
                #expect(created.object["finished_at"] is NSNull)
                ids.append(try #require(created.object["id"] as? String))
            }
            let shown = try await h.call(.get, "/v1/etl/runs/\(ids[1])", token: admin)
            #expect(shown.status == .ok)
            #expect(shown.object["id"] as? String == ids[1])
            #expect(Set(shown.object.keys) == Self.runFields)
            let missing = try await h.call(.get, "/v1/etl/runs/\(UUID().uuidString.lowercased())", token: admin)
            #expect(missing.status == .notFound)

            let first = try await h.call(.get, "/v1/etl/runs?pipeline=daily_sales&limit=2", token: admin)
            #expect(first.status == .ok)
            let items = try #require(first.object["items"] as? [[String: Any]])
            #expect(items.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
            let cursor = try #require(first.object["next_cursor"] as? String)
            let second = try await h.call(.get, "/v1/etl/runs?limit=2&cursor=\(cursor)", token: admin)
            #expect((second.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[0]])
            #expect(second.object["next_cursor"] is NSNull)
            let all = try await h.call(.get, "/v1/etl/runs?limit=10", token: admin)
            #expect((all.object["items"] as? [[String: Any]])?.count == 3)
            let empty = try await h.call(.get, "/v1/etl/runs?pipeline=", token: admin)
            #expect(empty.status == .unprocessableContent && empty.problem == "validation")
            let unknown = try await h.call(.get, "/v1/etl/runs?pipeline=weekly", token: admin)
            #expect(unknown.status == .unprocessableContent && unknown.problem == "validation")
        }
    }

    @Test func theReportReadsTheWarehouse() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            for (query, field) in [
                ("from=2026-11-01", "to"), ("to=2026-11-01", "from"), ("from=2026-11-1&to=2026-11-02", "from"),
                ("from=2026-11-02&to=2026-11-01", "to"), ("from=2025-01-01&to=2026-01-02", "to"),
            ] {
                let response = try await h.call(.get, "/v1/reports/daily-sales?\(query)", token: admin)
                #expect(response.status == .unprocessableContent, "\(query): \(response.text)")
                #expect((response.object["detail"] as? String)?.hasPrefix(field) == true, "\(query): \(response.text)")
            }
            let empty = try await h.call(.get, "/v1/reports/daily-sales?from=2025-01-01&to=2026-01-01", token: admin)
            #expect(empty.status == .ok, "\(empty.text)")
            #expect((empty.object["items"] as? [Any])?.isEmpty == true)

            // An order paid today, loaded by a run, read back.
            let product = try await h.product(admin: admin, stock: 10, price: "12.50")
            let customer = try await h.customer()
            let order = try await h.order(customer.token, product: product, quantity: 2)
            let orderID = try #require(order.object["id"] as? String)
            #expect(try await h.pay(order: orderID, amount: "25.00").status == .ok)
            let today = LogicalDate(containing: Date()).description
            let created = try await h.call(.post, "/v1/etl/runs", json: #"{"pipeline":"daily_sales","date":"\#(today)"}"#, token: admin)
            let runText = try #require(created.object["id"] as? String)
            let runID = try #require(UUID(uuidString: runText))
            let data = try #require(h.api.data)
            let queue = WorkQueue(client: h.db, configuration: WorkQueueConfiguration(pollInterval: .milliseconds(50)))
            data.register(on: queue)
            let run = try await withRunningServices([queue]) { try await data.runs.waitUntilFinished(runID, interval: .milliseconds(20)) }
            #expect(run.status == .succeeded, "\(run.error ?? "")")
            let shown = try await h.call(.get, "/v1/etl/runs/\(runID.uuidString.lowercased())", token: admin)
            #expect(shown.object["status"] as? String == "succeeded")
            #expect(shown.object["revenue"] as? String == "25.00")
            #expect(shown.object["rows_loaded"] as? Int == 1)
            #expect(shown.object["output"] as? String == "lake/daily_sales/dt=\(today)/part-0.parquet")

            let report = try await h.call(.get, "/v1/reports/daily-sales?from=\(today)&to=\(today)", token: admin)
            #expect(report.status == .ok)
            let rows = try #require(report.object["items"] as? [[String: Any]])
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(Set(row.keys) == ["sale_date", "product_id", "sku", "region", "orders", "units", "revenue"])
            #expect(row["sale_date"] as? String == today)
            #expect(row["product_id"] as? String == product)
            #expect(row["region"] as? String == "unknown")
            #expect(row["orders"] as? Int == 1)
            #expect(row["units"] as? Int == 2)
            #expect(row["revenue"] as? String == "25.00")
        }
    }

    @Test func dataQualityReturnsTheLatestResultOfEachCheck() async throws {
        try await withAPI { h in
            let admin = try await h.admin()
            let none = try await h.call(.get, "/v1/data-quality", token: admin)
            #expect(none.status == .ok)
            #expect((none.object["items"] as? [Any])?.isEmpty == true)
            let data = try #require(h.api.data)
            try await data.quality.runAll(now: Date().addingTimeInterval(-60))
            try await data.quality.runAll()
            let latest = try await h.call(.get, "/v1/data-quality", token: admin)
            #expect(latest.status == .ok)
            let items = try #require(latest.object["items"] as? [[String: Any]])
            #expect(items.compactMap { $0["check"] as? String } == DataQualityCheck.all.map(\.name))
            for item in items {
                #expect(Set(item.keys) == ["check", "severity", "passed", "value", "threshold", "detail", "checked_at"])
            }
            let freshness = try #require(items.first { $0["check"] as? String == "warehouse.daily_sales.freshness" })
            #expect(freshness["passed"] as? Bool == false)
            #expect(freshness["severity"] as? String == "error")
            let unique = try #require(items.first { $0["check"] as? String == "orders.id.unique" })
            #expect(unique["passed"] as? Bool == true)
            #expect(unique["threshold"] as? String == "= 0")
        }
    }

    @Test func failedRunsAndChecksShowInMetrics() async throws {
        PrometheusExport.bootstrap()
        try await withAPI { h in
            let data = try #require(h.api.data)
            let run = try await data.runs.create(pipeline: "daily_sales", date: try #require(LogicalDate("2026-11-01")), trigger: .manual)
            try await data.runs.fail(run.id, error: "injected for the metrics test")
            try await data.quality.runAll()
            // What the database holds, whichever process finished the runs and ran the checks
            // (`intake etl run` and `intake check` are other processes).
            try await data.metrics.refresh()
            let text = try await h.call(.get, "/metrics").text
            #expect(text.contains(#"intake_etl_runs_failed_total{pipeline="daily_sales"}"#), "\(text.prefix(2000))")
            #expect(text.contains(#"intake_etl_runs_total{"#))
            // Presence only: the registry is the test process's, and other suites run checks
            // (with other values) at the same time.
            for check in DataQualityCheck.all.map(\.name) {
                #expect(text.contains(#"intake_dq_check_passing{check="\#(check)"}"#), "\(check)")
                #expect(text.contains(#"intake_dq_check_value{check="\#(check)"}"#), "\(check)")
            }
        }
    }
}
