import Foundation
import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeData

extension DataIntegrationTests {
    /// DATA.md: a run reconciles `units` against "their items' quantities". Those are counted
    /// by Postgres in the extract's snapshot, so an extracted file short of rows is refused
    /// (as damaged staging: the run starts over from extract) instead of agreeing with itself.
    @Suite("daily_sales extract's control totals")
    struct ExtractReconciliationTests {
        @Test func anExtractedFileShortOfItemsIsRefused() async throws {
            try await DataHarness.with { h in
                try await DailySalesPipelineTests.seed(h)
                let created = try await h.platform.runs.create(
                    pipeline: Pipelines.dailySales, date: try #require(LogicalDate(DailySalesPipelineTests.dayA)), trigger: .manual)
                try await h.db.query(EtlQueries.markRunning(created.id))
                let extracted = try await h.platform.dailySales.extract(created)
                #expect(extracted.units == 9 && extracted.orders == 5 && extracted.revenue == "89.50", "\(extracted)")
                try await h.db.query(
                    EtlQueries.recordExtract(created.id, extracted))
                let run = try #require(try await h.platform.runs.find(created.id))
                #expect(run.sourceUnits == 9)
                #expect(try await h.platform.dailySales.anonymize(run) == 9)

                // The staged file loses its last item (a short write, a truncated copy).
                let items = h.platform.dailySales.stagingDirectory(run).appendingPathComponent("items.csv")
                var lines = try String(contentsOf: items, encoding: .utf8).split(separator: "\n")
                lines.removeLast()
                try (lines.joined(separator: "\n") + "\n").write(to: items, atomically: true, encoding: .utf8)
                do {
                    _ = try await h.platform.dailySales.anonymize(run)
                    Issue.record("a file short of an item was accepted")
                } catch let error as DailySales.StagedInputMissing {
                    #expect(error.description.contains("units, Postgres counted 9") && !error.description.contains("holds 9 units"), "\(error)")
                }
            }
        }
    }
}
