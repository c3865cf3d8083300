import Foundation
import IntakeData
import IntakeRuntime
import IntakeTestSupport
import Testing

extension DataIntegrationTests {
    /// Every data-quality check passes on good data and fails on data broken on purpose.
    @Suite("data-quality checks")
    struct DataQualityTests {
        static let tea = UUID(uuidString: "00000000-0000-7000-8000-000000000001")!

        /// Orders in several states, stock shards that agree with them, and a fresh run for
        /// yesterday.
        static func seed(_ h: DataHarness) async throws {
            let alice = UUIDv7.make()
            let bob = UUIDv7.make()
            try await h.product(tea, sku: "TEA-1", price: "2.00")
            try await h.user(alice, email: "a@example.com", name: "A")
            try await h.user(bob, email: "b@example.com", name: "B")
            typealias L = DataHarness.Line
            let now = "2026-11-28 10:00:00+00"
            try await h.order(user: alice, status: "PAID", region: "north", createdAt: now, lines: [L(product: tea, quantity: 2, unitPrice: "2.00", shard: 0)])
            try await h.order(user: bob, status: "SHIPPED", region: "north", createdAt: now, lines: [L(product: tea, quantity: 1, unitPrice: "2.00", shard: 1)])
            try await h.order(user: alice, status: "PENDING", region: nil, createdAt: now, lines: [L(product: tea, quantity: 1, unitPrice: "2.00", shard: 0)])
            try await h.order(user: bob, status: "CANCELED", region: nil, createdAt: now, lines: [L(product: tea, quantity: 3, unitPrice: "2.00", shard: 1)])
            try await h.db.query(
                "INSERT INTO stock_shards (product_id, shard, available, reserved, shipped) VALUES ($1, 0, 10, 3, 0), ($1, 1, 5, 0, 1)", [.uuid(tea)])
            // Received 20, wrote 1 off: 19 on hand (13 on shard 0, 6 on shard 1).
            try await h.db.query("INSERT INTO stock_ledger (product_id, delta) VALUES ($1, 20), ($1, -1)", [.uuid(tea)])
            let yesterday = LogicalDate(containing: Date()).adding(days: -1)
            try await h.db.query(
                """
                INSERT INTO etl_runs (id, pipeline, logical_date, status, trigger, started_at, finished_at, orders_extracted, rows_loaded, revenue)
                VALUES ($1, 'daily_sales', $2::date, 'succeeded', 'schedule', now(), now(), 0, 0, 0)
                """, [.uuid(UUIDv7.make()), .text(yesterday.description)])
            // The run loaded a day without sales: the warehouse exists and holds none of it.
            try await h.platform.warehouse.ensureExists()
        }

        /// DATA.md: "an empty warehouse fails" — whatever the run record says.
        @Test func freshnessFailsWhenTheWarehouseLacksWhatTheRunLoaded() async throws {
            try await DataHarness.with { h in
                try await Self.seed(h)
                func freshness() async throws -> DataQualityResult {
                    try #require(try await h.platform.quality.runAll().first { $0.check == "warehouse.daily_sales.freshness" })
                }
                #expect(try await freshness().passed)
                try await h.db.query("UPDATE etl_runs SET rows_loaded = 3")
                let short = try await freshness()
                #expect(!short.passed && (short.detail ?? "").contains("holds 0 rows"), "\(short)")
                // As many rows as the run loaded, but written by another (an older copy of the
                // file put back): lineage says they are not the latest run's.
                let yesterday = LogicalDate(containing: Date()).adding(days: -1)
                _ = try await h.platform.duckdb.run(
                    """
                    INSERT INTO daily_sales VALUES (DATE '\(yesterday)', '\(Self.tea.uuidString.lowercased())', 'TEA-1', 'north', 1, 1, 2.00,
                        '\(UUID().uuidString.lowercased())'), (DATE '\(yesterday)', '\(Self.tea.uuidString.lowercased())', 'TEA-1', 'south', 1, 1, 2.00,
                        '\(UUID().uuidString.lowercased())'), (DATE '\(yesterday)', '\(Self.tea.uuidString.lowercased())', 'TEA-1', 'east', 1, 1, 2.00,
                        '\(UUID().uuidString.lowercased())')
                    """, database: h.platform.settings.warehousePath.path)
                let foreign = try await freshness()
                #expect(!foreign.passed && (foreign.detail ?? "").contains("not written by its latest run"), "\(foreign)")
                try await h.db.query("UPDATE etl_runs SET rows_loaded = 0")
                try FileManager.default.removeItem(at: h.platform.settings.warehousePath)
                let gone = try await freshness()
                #expect(!gone.passed && (gone.detail ?? "").contains("holds no daily_sales"), "\(gone)")
            }
        }

        @Test func everyCheckPassesOnGoodDataAndIsKept() async throws {
            try await DataHarness.with { h in
                try await Self.seed(h)
                let results = try await h.platform.quality.runAll()
                #expect(results.map(\.check) == DataQualityCheck.all.map(\.name))
                for result in results { #expect(result.passed, "\(result.check): \(result.value) \(result.detail ?? "")") }
                #expect(!DataQuality.anyErrorFailed(results))
                #expect(results.first { $0.check == "orders.user_id.completeness" }?.value == 100)
                let latest = try await h.platform.quality.latest()
                #expect(latest.map(\.check) == DataQualityCheck.all.map(\.name))
                #expect(try await h.db.query("SELECT count(*) AS n FROM dq_results")[0].decode("n", as: Int.self) == 8)
            }
        }

        @Test func checksOverEmptyTablesAreResultsNotErrors() async throws {
            try await DataHarness.with { h in
                let results = try await h.platform.quality.runAll()
                #expect(results.count == 8)
                // Only freshness fails: an empty warehouse has no run for yesterday.
                #expect(results.filter { !$0.passed }.map(\.check) == ["warehouse.daily_sales.freshness"])
                #expect(results.first { $0.check == "orders.id.unique" }?.detail == "0 rows")
                // No run to measure: no age, never a number that reads as fresh (it was -1).
                let freshness = try #require(results.first { $0.check == "warehouse.daily_sales.freshness" })
                #expect(freshness.value.isNaN)
                #expect(freshness.line(unit: "hours").contains(" none hours "), "\(freshness.line(unit: "hours"))")
                #expect(freshness.json().contains("\"value\":null"))
            }
        }

        /// A way to break the data, and the check that must notice.
        struct Breakage: Sendable, CustomTestStringConvertible {
            var check: String
            var sql: [String]
            var label: String? = nil
            var testDescription: String { label ?? check }
        }

        static let breakages: [Breakage] = [
            Breakage(check: "orders.id.unique", sql: [
                "ALTER TABLE orders DROP CONSTRAINT orders_pkey",
                "INSERT INTO orders SELECT * FROM orders WHERE status = 'PAID'",
            ]),
            Breakage(check: "orders.id.not_null", sql: [
                "ALTER TABLE orders DROP CONSTRAINT orders_pkey", "ALTER TABLE orders ALTER COLUMN id DROP NOT NULL",
                "INSERT INTO orders (id, user_id, status, amount, created_at, updated_at, expires_at) SELECT NULL, user_id, status, amount, created_at, updated_at, expires_at FROM orders WHERE status = 'CANCELED'",
            ]),
            Breakage(check: "order_items.order_id.not_null", sql: [
                "ALTER TABLE order_items DROP CONSTRAINT order_items_pkey", "ALTER TABLE order_items ALTER COLUMN order_id DROP NOT NULL",
                "INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price) VALUES (NULL, '\(tea.uuidString)', 0, 1, 2.00)",
            ]),
            Breakage(check: "orders.status.accepted_values", sql: [
                "ALTER TABLE orders DROP CONSTRAINT orders_status_valid", "UPDATE orders SET status = 'LOST' WHERE status = 'CANCELED'",
            ]),
            Breakage(check: "order_items.order_id.relationships", sql: [
                "INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price) VALUES (gen_random_uuid(), '\(tea.uuidString)', 0, 1, 2.00)",
            ]),
            Breakage(check: "orders.user_id.completeness", sql: ["UPDATE orders SET user_id = gen_random_uuid() WHERE status = 'CANCELED'"]),
            Breakage(check: "warehouse.daily_sales.freshness", sql: ["UPDATE etl_runs SET finished_at = now() - interval '27 hours'"]),
            Breakage(
                check: "stock.conservation", sql: ["UPDATE stock_shards SET reserved = reserved + 1 WHERE shard = 0"],
                label: "stock.conservation (reserved edited by hand)"),
            Breakage(
                check: "stock.conservation", sql: ["UPDATE stock_shards SET available = available + 5 WHERE shard = 1"],
                label: "stock.conservation (available edited by hand)"),
            Breakage(
                check: "stock.conservation", sql: ["INSERT INTO stock_ledger (product_id, delta) VALUES ('\(tea.uuidString)', 7)"],
                label: "stock.conservation (a restock that never reached the shards)"),
        ]

        @Test(arguments: breakages)
        func eachCheckFailsOnDataBrokenOnPurpose(_ breakage: Breakage) async throws {
            try await DataHarness.with { h in
                try await Self.seed(h)
                for statement in breakage.sql { try await h.db.query(statement) }
                let results = try await h.platform.quality.runAll()
                let target = try #require(results.first { $0.check == breakage.check })
                #expect(!target.passed, "\(breakage.check) passed with \(target.value)")
                #expect(target.severity == .error)
                #expect(DataQuality.anyErrorFailed(results))
                #expect(target.line(unit: "x").hasPrefix("FAIL  \(breakage.check)"))
                if breakage.check == "stock.conservation" {
                    // It names what is out of balance (it said nothing).
                    #expect(target.detail?.contains("product \(Self.tea.uuidString.lowercased())") == true, "\(target.detail ?? "nil")")
                }
            }
        }

        @Test func aWarnCheckFailsWithoutFailingTheRun() async throws {
            var settingsEnvironment = ProcessInfo.processInfo.environment
            settingsEnvironment["INTAKE_DQ_WARN"] = "orders.user_id.completeness"
            try await DataHarness.with { h in
                try await Self.seed(h)
                try await h.db.query("UPDATE orders SET user_id = gen_random_uuid() WHERE status = 'CANCELED'")
                var settings = try DataSettings.load(from: settingsEnvironment, dataDirectory: h.directory)
                settings.stepAttempts = 2
                let platform = try DataPlatform(db: h.db, settings: settings)
                let results = try await platform.quality.runAll()
                let completeness = try #require(results.first { $0.check == "orders.user_id.completeness" })
                #expect(!completeness.passed && completeness.severity == .warn && completeness.value == 75)
                #expect(!DataQuality.anyErrorFailed(results))
                #expect(completeness.line(unit: "%").hasSuffix("[warn]"))
            }
        }
    }
}
