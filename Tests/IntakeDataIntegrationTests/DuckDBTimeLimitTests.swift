import Foundation
import IntakeData
import Testing

extension DataIntegrationTests {
    /// A pipeline or lifecycle step's DuckDB that never ends fails its step at the background
    /// time limit (and its process is killed), instead of holding a run `running` forever
    /// (hostile review, session 12: a hung DuckDB hung `intake etl run` with no limit).
    @Suite("DuckDB background time limit")
    struct DuckDBTimeLimitTests {
        @Test func aBackgroundQueryThatNeverEndsFailsAtItsLimit() async throws {
            let located = try DuckDB.locate()
            let duckdb = DuckDB(executable: located.executable, backgroundTimeLimit: .seconds(1))
            let marker = "endless-\(UUID().uuidString.lowercased())"
            let endless = "SELECT sum(hash(a.range * b.range)) AS \"\(marker)\" FROM range(1000000000) a, range(1000000000) b"
            do {
                _ = try await duckdb.run(endless, background: true)
                Issue.record("an endless background query returned")
            } catch let error as DataError {
                #expect(error.code == .timeout, "\(error)")
            }
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let left = pids.filter { pid in
                guard Int32(pid) != nil, let line = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                return String(decoding: line, as: UTF8.self).contains(marker)
            }
            #expect(left.isEmpty)
            // Reads keep no default limit: only background work is bounded by it.
            #expect(try await duckdb.run("SELECT 42 AS answer").contains("42"))
        }
    }
}
