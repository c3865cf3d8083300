/// An event to put in the outbox, in the same write set or transaction as the change it
/// describes.
public struct OutboxEvent: Sendable, Hashable {
    public var aggregateType: String
    public var aggregateID: String
    public var event: CloudEvent

    public init(aggregateType: String, aggregateID: String, event: CloudEvent) {
        self.aggregateType = aggregateType
        self.aggregateID = aggregateID
        self.event = event
    }
}

/// An outbox row as the relay reads it.
public struct OutboxRecord: Sendable, Hashable {
    /// Commit-order position (a bigserial; per aggregate, ids follow commit order).
    public var id: Int64
    public var eventID: String
    public var aggregateType: String
    public var aggregateID: String
    public var eventType: String
    /// The structured-mode CloudEvent JSON.
    public var event: String

    /// The event's `traceparent` attribute, read from its JSON (written by
    /// `CloudEvent.structuredJSON()`, where it precedes `data`, so a user's data cannot fake it).
    public var traceparent: String? {
        guard let start = event.range(of: "\"traceparent\":\""), let data = event.range(of: "\"data\":"),
            start.upperBound < data.lowerBound,
            let end = event[start.upperBound..<data.lowerBound].firstIndex(of: "\"")
        else { return nil }
        return String(event[start.upperBound..<end])
    }
}

/// Where the relay publishes: a Redis stream, webhooks.
public protocol OutboxSink: Sendable {
    /// Publishes `records` in order. Throwing means "not (all) published": the relay retries
    /// the whole batch later, so a sink may see a record more than once.
    func publish(_ records: [OutboxRecord]) async throws
}
