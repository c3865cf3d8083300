extension PostgresClient {
    /// Runs a retention `DELETE` (parameters: age in ms, batch size) until a batch comes back
    /// short, so a large backlog is removed in bounded transactions. Returns the rows deleted.
    func deleteInBatches(_ sql: String, olderThan retention: Duration, batchSize: Int) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await query(
                sql, [.int64(retention.nanoseconds / 1_000_000), .int32(Int32(clamping: batchSize))]
            ).affectedRows
            total += deleted
            if deleted < batchSize { return total }
        }
    }
}
