import Foundation

/// Every SQL statement of the outbox, in one place.
public enum OutboxQueries {
    /// The channel writers notify after adding events and the relay listens on.
    public static let channel = "intake_outbox"

    /// Rows of `(event id, aggregate type, aggregate id, event type, structured JSON)`.
    static let insertRows = """
        INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, event)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
        """

    /// Adds `events` in one statement; put it in the write set of the change they describe,
    /// followed by `notify`.
    public static func insert(_ events: [OutboxEvent]) -> PostgresStatement {
        let traceparent = TraceContext.currentTraceparent()
        return PostgresStatement(
            insertRows,
            [
                .uuidArray(events.map(\.event.id)), .textArray(events.map(\.aggregateType)),
                .textArray(events.map(\.aggregateID)), .textArray(events.map(\.event.type)),
                .textArray(events.map { traced($0.event, traceparent).structuredJSON() }),
            ])
    }

    /// `event` with the producing span's `traceparent`, unless it names one already: for
    /// statements that write an event's JSON themselves.
    public static func traced(_ event: CloudEvent) -> CloudEvent { traced(event, TraceContext.currentTraceparent()) }

    private static func traced(_ event: CloudEvent, _ traceparent: String?) -> CloudEvent {
        guard event.traceparent == nil, let traceparent else { return event }
        var traced = event
        traced.traceparent = traceparent
        return traced
    }

    /// Wakes the relay once the transaction commits.
    public static let notify = PostgresStatement("SELECT pg_notify('\(channel)', '')")

    /// `insertRows` as a batched template: group commit merges a batch's events into one
    /// statement.
    static let insertBatched = BatchedStatement(insertRows, columns: 5, fusion: .modification)

    /// One NOTIFY for the relay per batch, however many write sets asked for it.
    static let notifyBatched = BatchedStatement(
        "SELECT pg_notify('\(channel)', '') FROM (SELECT DISTINCT 1 FROM unnest($1::int4[])) AS once", columns: 1,
        fusion: .result)

    /// Adds `event` to `writeSet` (as a batched row) and wakes the relay after its commit.
    public static func append(_ event: OutboxEvent, to writeSet: inout WriteSet) {
        writeSet.append(
            [.uuid(event.event.id), .text(event.aggregateType), .text(event.aggregateID), .text(event.event.type),
             .text(traced(event.event, TraceContext.currentTraceparent()).structuredJSON())], to: insertBatched)
        writeSet.append([.int32(1)], to: notifyBatched)
    }

    /// The highest outbox id handed out so far (ids come from the row's sequence): a row
    /// inserted after this read has a larger one.
    static let idFloor = "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS floor FROM outbox_id_seq"

    /// Whether event `$2` is in the outbox above id `$1`: a range of the primary key, where
    /// `event_id` alone (no index) would scan every row the outbox keeps.
    static let eventAbove = "SELECT 1 FROM outbox WHERE id > $1 AND event_id = $2"

    /// "Did the write of event `eventID` land?", for a commit whose outcome is unknown (its
    /// connection broke): call this *before* sending the write, then ask the returned check
    /// after. It reads the outbox's id position now, and the check looks for the event only
    /// above it.
    public static func landingCheck(for eventID: UUID, on db: PostgresClient) async throws -> @Sendable () async throws -> Bool {
        let floor = try await db.query(idFloor)[0].decode("floor", as: Int64.self)
        return { try await !db.query(eventAbove, [.int64(floor), .uuid(eventID)]).isEmpty }
    }

    static let lockKey = "hashtext('intake.outbox.relay:' || current_schema())"

    /// The next events to publish: after the relay's position, in (txid, id) order, and only
    /// of transactions older than every running one (migration 0003 says why). The position
    /// is a row subquery, so the range is an index condition (a join would scan the index).
    static let unpublished = """
        SELECT o.id, o.txid::text AS txid, o.event_id::text AS event_id, o.aggregate_type, o.aggregate_id, o.event_type, o.event,
            (SELECT txid::text FROM outbox_position) AS from_txid, (SELECT event_id FROM outbox_position) AS from_event_id
        FROM outbox o
        WHERE (o.txid, o.id) > (SELECT txid, event_id FROM outbox_position) AND o.txid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY o.txid, o.id LIMIT $1
        """

    /// Moves the position past the last event published (`$1`, `$2`), from the position the
    /// batch was read after (`$3`, `$4`): one row written per batch, and none if another
    /// relay moved it meanwhile.
    static let advance = "UPDATE outbox_position SET txid = $1::xid8, event_id = $2 WHERE txid = $3::xid8 AND event_id = $4"

    /// Age of the next event to publish (the first after the position, in publication order:
    /// the one the relay is behind on). One index entry, however far behind the relay is:
    /// `min(created_at)` over every unpublished row read them all, and its cached plan, made
    /// while the table was small, could scan the whole table (16 ms a call under load,
    /// `pg_stat_statements`).
    static let lag = """
        SELECT COALESCE(extract(epoch FROM now() - (
            SELECT o.created_at FROM outbox o WHERE (o.txid, o.id) > (SELECT txid, event_id FROM outbox_position)
            ORDER BY o.txid, o.id LIMIT 1)) * 1000, 0)::int8 AS lag_ms
        """

    /// Deletes published rows older than `$1` ms, oldest first, at most `$2`.
    static let prune = """
        DELETE FROM outbox WHERE id IN (
            SELECT o.id FROM outbox o
            WHERE (o.txid, o.id) <= (SELECT txid, event_id FROM outbox_position) AND o.created_at < now() - $1 * interval '1 millisecond'
            ORDER BY o.txid, o.id LIMIT $2
        )
        """
}
