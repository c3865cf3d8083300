import Foundation
import HTTPTypes
import IntakeRuntime

/// Idempotency-Key records of authenticated POSTs other than order creation (whose record is
/// the order row). The database decides who runs a key, across processes: a request first
/// *claims* its key (a row with status 0), runs, then completes the row with its response —
/// or deletes it when it failed, so the client may retry. A claim left by a crashed process
/// is taken over after `abandonedAfter`; a completed record is replayed for 24 hours.
struct IdempotencyRecords: Sendable {
    struct Record: Sendable {
        var requestHash: [UInt8]
        /// 0 while the claiming request runs.
        var status: Int
        var body: [UInt8]
    }

    enum Claim {
        case claimed
        case existing(Record)
    }

    /// Deletes records past their 24 hours, hourly, through the work queue.
    static func pruningJob(client: PostgresClient) -> RetentionJob {
        RetentionJob(
            kind: "intake.idempotency.prune", client: client,
            sql: """
                DELETE FROM idempotency_records WHERE (user_id, key) IN (
                    SELECT user_id, key FROM idempotency_records WHERE created_at < now() - $1 * interval '1 millisecond' LIMIT $2
                )
                """,
            retention: .seconds(86_400))
    }

    /// Longer than any request runs.
    static let abandonedAfter = "60 seconds"

    let db: PostgresClient

    /// Claims `key` for a request with `hash`, or returns the record that holds it.
    func claim(userID: UUID, key: IdempotencyKey, hash: [UInt8]) async throws -> Claim {
        for _ in 0..<3 {
            let claimed = try await db.query(
                """
                INSERT INTO idempotency_records AS r (user_id, key, request_hash, status, body) VALUES ($1, $2, $3, 0, '')
                ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = 0, body = '', created_at = now()
                WHERE r.created_at <= now() - interval '24 hours' OR (r.status = 0 AND r.created_at <= now() - interval '\(Self.abandonedAfter)')
                RETURNING 1
                """, [.uuid(userID), .text(key.value), .bytea(hash)])
            if !claimed.isEmpty { return .claimed }
            let rows = try await db.query(
                "SELECT request_hash, status, body FROM idempotency_records WHERE user_id = $1 AND key = $2", [.uuid(userID), .text(key.value)])
            // Gone between the two statements (its request failed): claim again.
            guard let row = rows.first else { continue }
            return .existing(Record(requestHash: try row.decode("request_hash"), status: try row.decode("status"), body: try row.decode("body")))
        }
        throw Problem.idempotencyKeyInUse
    }

    /// Who holds `key` of this user, for an order about to use it: an order (its row keeps
    /// its key), another POST (a live record: a stored response of the last 24 hours, or a
    /// claim still running), or no one. One read of both stores.
    enum Holder: Equatable {
        case none
        case order
        case request(running: Bool)
    }

    func holder(userID: UUID, key: IdempotencyKey) async throws -> Holder {
        let rows = try await db.query(
            """
            SELECT EXISTS (SELECT 1 FROM orders WHERE idempotency_scope = $1 AND idempotency_key = $2) AS ordered,
                (SELECT status FROM idempotency_records WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'
                    AND (status <> 0 OR created_at > now() - interval '\(Self.abandonedAfter)')) AS status
            """, [.uuid(userID), .text(key.value)])
        guard let row = rows.first else { return .none }
        if try row.decode("ordered", as: Bool.self) { return .order }
        guard let status = try row.decode("status", as: Int?.self) else { return .none }
        return .request(running: status == 0)
    }

    /// Stores the response of the request that claimed `key`.
    func complete(userID: UUID, key: IdempotencyKey, status: Int, body: [UInt8]) async throws {
        try await db.query(
            "UPDATE idempotency_records SET status = $3, body = $4 WHERE user_id = $1 AND key = $2 AND status = 0",
            [.uuid(userID), .text(key.value), .int32(Int32(status)), .bytea(body)])
    }

    /// Gives up a claim whose request failed: the key may be used again.
    func release(userID: UUID, key: IdempotencyKey) async throws {
        try await db.query("DELETE FROM idempotency_records WHERE user_id = $1 AND key = $2 AND status = 0", [.uuid(userID), .text(key.value)])
    }
}
