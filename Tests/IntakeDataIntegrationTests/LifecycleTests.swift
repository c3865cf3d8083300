import Foundation
import IntakeActors
import IntakeData
import IntakeRuntime
import IntakeTestSupport
import Testing

/// The storage tiers (DATA.md "Storage lifecycle") over orders spread across five years.
@Suite("Storage lifecycle", .serialized)
struct LifecycleTests {
    @Test func hotKeepsTwelveMonthsArchivedOrdersStillAnswerAndColdMonthsLiveInParquetOnly() async throws {
        try await DataHarness.with { h in
            let now = Date()
            let product = UUID()
            try await h.db.query("INSERT INTO products (id, sku, name, price, stock_shards) VALUES ($1, 'LIFE', 'Life', 2.00, 1)", [.uuid(product)])
            try await h.db.query("INSERT INTO stock_shards (product_id, shard, available) VALUES ($1, 0, 0)", [.uuid(product)])
            // One finished order on the 15th of each of the last 60 months, and an open (PAID)
            // one 30 months ago, which must stay hot whatever its age.
            try await h.db.query(
                """
                INSERT INTO orders (id, user_id, status, amount, region, created_at, updated_at, expires_at)
                SELECT gen_random_uuid(), gen_random_uuid(), CASE WHEN m % 2 = 0 THEN 'DELIVERED' ELSE 'CANCELED' END, 4.00, 'br',
                    date_trunc('month', $1::timestamptz) - make_interval(months => m) + interval '14 days',
                    date_trunc('month', $1::timestamptz) - make_interval(months => m) + interval '15 days',
                    date_trunc('month', $1::timestamptz) - make_interval(months => m) + interval '14 days 15 minutes'
                FROM generate_series(0, 59) AS m
                """, [.timestamptz(now)])
            let open = UUID()
            try await h.db.query(
                """
                INSERT INTO orders (id, user_id, status, amount, created_at, updated_at, expires_at)
                VALUES ($1, gen_random_uuid(), 'PAID', 4.00, now() - interval '30 months', now() - interval '30 months', now() - interval '30 months')
                """, [.uuid(open)])
            try await h.db.query(
                "INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price) SELECT id, $1, 0, 2, 2.00 FROM orders", [.uuid(product)])

            // An archived order reads the same through the order domain before and after.
            let service = OrderService(db: h.db, groupCommit: GroupCommit(client: h.db))
            let old = try await h.db.query(
                "SELECT id FROM orders WHERE created_at < now() - interval '20 months' AND created_at > now() - interval '30 months' LIMIT 1")[0]
                .decode("id", as: UUID.self)
            let before = try await service.order(old)

            let report = try await h.platform.lifecycle.run(now: now)
            print("LIFECYCLE \(report.text.replacingOccurrences(of: "\n", with: "; "))")

            // Hot: finished orders of the last 12 months only (and the open one).
            let hotOld = try await h.db.query(
                "SELECT count(*)::int8 AS n FROM orders WHERE created_at < $1 AND status IN ('DELIVERED', 'CANCELED')",
                [.timestamptz(Calendar(identifier: .gregorian).date(byAdding: .month, value: -12, to: now) ?? now)])[0].decode("n", as: Int.self)
            #expect(hotOld == 0)
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM orders WHERE id = $1", [.uuid(open)])[0].decode("n", as: Int.self) == 1)
            let hot = try await h.db.query("SELECT count(*)::int8 AS n FROM orders")[0].decode("n", as: Int.self)
            let archived = try await h.db.query("SELECT count(*)::int8 AS n FROM orders_archive")[0].decode("n", as: Int.self)
            #expect(hot >= 12 && hot <= 14, "the last 12 months and the open order: \(hot)")
            #expect(report.archivedOrders == 60 - (hot - 1))
            // Cold: nothing older than 3 years (whole months) stays in Postgres.
            let coldLeft = try await h.db.query(
                "SELECT count(*)::int8 AS n FROM orders_archive WHERE created_at < now() - interval '37 months'")[0].decode("n", as: Int.self)
            #expect(coldLeft == 0)
            #expect(report.coldOrders >= 23, "\(report.coldOrders)")
            #expect(archived + report.coldOrders == report.archivedOrders)
            #expect(try await h.db.query("SELECT count(*)::int8 AS n FROM order_items_archive")[0].decode("n", as: Int.self) == archived)

            // The archived order answers as before (a fresh activation reads the archive).
            let fresh = OrderService(db: h.db, groupCommit: GroupCommit(client: h.db))
            #expect(try await fresh.order(old) == before)

            // Every month moved is in the lake, cold ones included, each file whole.
            struct Count: Decodable { var n: Int }
            let lake = h.platform.settings.lakeDirectory.appendingPathComponent("archive/orders")
            let files = try FileManager.default.contentsOfDirectory(atPath: lake.path).filter { $0.hasPrefix("month=") }
            #expect(files.count == report.archivedOrders, "one order per month: one file per month")
            let inLake = try await h.platform.duckdb.rows(
                Count.self, "SELECT count(*) AS n FROM read_parquet('\(lake.path)/month=*/part-0.parquet')")
            #expect(inLake.first?.n == report.archivedOrders)
            let items = h.platform.settings.lakeDirectory.appendingPathComponent("archive/order_items")
            let itemsInLake = try await h.platform.duckdb.rows(
                Count.self, "SELECT count(*) AS n FROM read_parquet('\(items.path)/month=*/part-0.parquet')")
            #expect(itemsInLake.first?.n == report.archivedOrders)

            // A second run has nothing left to do.
            let again = try await h.platform.lifecycle.run(now: now)
            #expect(again.archivedOrders == 0 && again.coldOrders == 0)
        }
    }

    @Test func retentionPeriodsParseAndCount() throws {
        #expect(RetentionPeriod("12mo") == RetentionPeriod(count: 12, unit: .months))
        #expect(RetentionPeriod("3y") == RetentionPeriod(count: 3, unit: .years))
        #expect(RetentionPeriod("90d")?.unit == .days)
        #expect(RetentionPeriod("soon") == nil && RetentionPeriod("-1y") == nil && RetentionPeriod("12") == nil)
        let march = try #require(ISO8601DateFormatter().date(from: "2026-03-31T12:00:00Z"))
        #expect(ISO8601DateFormatter().string(from: RetentionPeriod(count: 1, unit: .months).before(march)) == "2026-02-28T12:00:00Z")
    }
}
