import Foundation
import HTTPTypes
import IntakeRuntime

/// Stored responses of authenticated POSTs (other than order creation) for replay. The record
/// is written after the request succeeded, in its own statement: a crash between the two
/// loses the record (the retry then runs again and, for state transitions, gets
/// `invalid-transition`). Order creation does better: its record is the order row.
struct IdempotencyRecords: Sendable {
    struct Record: Sendable {
        var requestHash: [UInt8]
        var status: Int
        var body: [UInt8]
    }

    static let retention: TimeInterval = 24 * 3600

    let db: PostgresClient

    func find(userID: UUID, key: IdempotencyKey) async throws -> Record? {
        let rows = try await db.query(
            "SELECT request_hash, status, body FROM idempotency_records WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'",
            [.uuid(userID), .text(key.value)])
        guard let row = rows.first else { return nil }
        return Record(requestHash: try row.decode("request_hash"), status: try row.decode("status"), body: try row.decode("body"))
    }

    func save(userID: UUID, key: IdempotencyKey, record: Record) async throws {
        try await db.query(
            """
            INSERT INTO idempotency_records (user_id, key, request_hash, status, body) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
                body = EXCLUDED.body, created_at = now()
            WHERE idempotency_records.created_at <= now() - interval '24 hours'
            """,
            [.uuid(userID), .text(key.value), .bytea(record.requestHash), .int32(Int32(record.status)), .bytea(record.body)])
    }

    /// Deletes records past retention; returns how many.
    @discardableResult
    func prune() async throws -> Int {
        try await db.query("DELETE FROM idempotency_records WHERE created_at <= now() - interval '24 hours' RETURNING 1").count
    }
}
