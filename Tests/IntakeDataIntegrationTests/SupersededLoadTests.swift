import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeData

extension DataIntegrationTests {
    /// DATA.md: "A re-run of D replaces D". Two runs of one day at once (the schedule's and an
    /// operator's re-run after a correction) load in the order they extracted, whatever order
    /// they finish in: the day keeps the later snapshot. Before, the run that finished last
    /// won, so a run that extracted first and stalled replaced the re-run's rows with older
    /// ones while the newest run record said otherwise (hostile review, session 16).
    @Suite("daily_sales: the later snapshot of a day wins")
    struct SupersededLoadTests {
        /// With `warehouseLost`, the warehouse file is removed before the stalled run goes on:
        /// the rebuild from the lake keeps each day's snapshot (its lineage had none, so the
        /// older run's rows replaced the re-run's; hostile review, session 16).
        @Test(arguments: [false, true])
        func aRunThatExtractedFirstAndFinishesLastLoadsNothing(warehouseLost: Bool) async throws {
            try await DataHarness.with { h in
                try await DailySalesPipelineTests.seed(h)
                let day = try #require(LogicalDate(DailySalesPipelineTests.dayA))
                // The first run extracts, then stalls before its next step (its job held back).
                let older = try await h.platform.runs.create(pipeline: Pipelines.dailySales, date: day, trigger: .schedule)
                let olderJob = "etl:\(older.id.lowercasedString):extract"
                try await h.db.query("UPDATE jobs SET run_at = now() + interval '1 hour' WHERE unique_key = $1", [.text(olderJob)])
                try await h.db.query(EtlQueries.markRunning(older.id))
                try await h.db.query(EtlQueries.recordExtract(older.id, try await h.platform.dailySales.extract(older)))

                // A late sale of the day arrives; a re-run sees it and finishes first.
                try await h.order(
                    user: DailySalesPipelineTests.bob, status: "PAID", region: "west", createdAt: "\(day) 18:00:00+00",
                    lines: [DataHarness.Line(product: DailySalesPipelineTests.tea, quantity: 1, unitPrice: "12.50")])
                try await withRunningServices([h.workQueue()]) {
                    let newer = try await h.run(DailySalesPipelineTests.dayA)
                    #expect(newer.status == .succeeded, "\(newer.error ?? "")")
                    #expect(newer.revenue == "102.00")

                    if warehouseLost { try FileManager.default.removeItem(at: h.platform.settings.warehousePath) }
                    // The stalled run goes on from its next step and reaches its load last.
                    try await h.db.query(
                        "UPDATE jobs SET run_at = now(), args = jsonb_set(args, '{step}', '\"anonymize\"') WHERE unique_key = $1",
                        [.text(olderJob)])
                    let stalled = try await h.platform.runs.waitUntilFinished(older.id, interval: .milliseconds(20))
                    #expect(stalled.status == .failed)
                    #expect(stalled.error?.contains("superseded: run \(newer.id.lowercasedString)") == true, "\(stalled.error ?? "")")
                    #expect(stalled.rowsLoaded == nil)

                    let rows = try await h.warehouseRows(DailySalesPipelineTests.dayA)
                    #expect(rows.allSatisfy { $0.etl_run_id == newer.id.lowercasedString }, "\(rows.map(\.etl_run_id))")
                    #expect(rows.contains { $0.region == "west" }, "the late sale is in the warehouse")
                    let parquet = try await h.parquetRows(DailySalesPipelineTests.dayA)
                    #expect(parquet.values == rows.values)
                    #expect(parquet.allSatisfy { $0.etl_run_id == newer.id.lowercasedString })

                    // A later re-run replaces the day again, as always.
                    let again = try await h.run(DailySalesPipelineTests.dayA)
                    #expect(again.status == .succeeded, "\(again.error ?? "")")
                    #expect(try await h.warehouseRows(DailySalesPipelineTests.dayA).allSatisfy { $0.etl_run_id == again.id.lowercasedString })
                }
            }
        }

        /// After a point-in-time restore the cluster's transaction ids start lower again: a run
        /// on it, with a lower xmax but a later clock than the day's lineage, replaces the day
        /// (it was refused `superseded` until the old timeline's ids were reached again;
        /// hostile review, session 16).
        @Test func aRunOnARestoredClusterReplacesTheDay() async throws {
            try await DataHarness.with { h in
                try await DailySalesPipelineTests.seed(h)
                try await withRunningServices([h.workQueue()]) {
                    let before = try await h.run(DailySalesPipelineTests.dayA)
                    #expect(before.status == .succeeded)
                    struct Nothing: Decodable, Sendable {}
                    // The lineage as the abandoned timeline left it: ids far beyond the restored cluster's.
                    _ = try await h.platform.warehouse.write(
                        "UPDATE daily_sales_lineage SET snapshot_xmax = snapshot_xmax + 1000000000; SELECT 1 AS one WHERE false;",
                        returning: Nothing.self, accept: { _ in })
                    let after = try await h.run(DailySalesPipelineTests.dayA)
                    #expect(after.status == .succeeded, "\(after.error ?? "")")
                    #expect(try await h.warehouseRows(DailySalesPipelineTests.dayA).allSatisfy { $0.etl_run_id == after.id.lowercasedString })
                }
            }
        }
    }
}
