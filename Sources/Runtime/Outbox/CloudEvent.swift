import Foundation

/// A CloudEvents 1.0 event, encoded in structured mode (one JSON object holding the
/// attributes and the data).
public struct CloudEvent: Sendable, Hashable {
    public static let specVersion = "1.0"

    /// Unique per event; consumers deduplicate by it (delivery is at least once).
    public var id: UUID
    /// URI reference of the producer, e.g. `/intake/orders`.
    public var source: String
    /// Reverse-DNS type, e.g. `com.example.order.created`.
    public var type: String
    /// The aggregate the event is about.
    public var subject: String?
    public var time: Date
    public var dataContentType: String
    /// The data, as JSON text.
    public var data: String
    /// The Distributed Tracing extension (CloudEvents `traceparent`, W3C Trace Context): the
    /// span that produced the event. Set from the current span when the event is written to
    /// the outbox, when tracing is on.
    public var traceparent: String?

    public init(
        id: UUID = UniqueID.uuid(), source: String, type: String, subject: String? = nil, time: Date = Date(),
        dataContentType: String = "application/json", data: String, traceparent: String? = nil
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.dataContentType = dataContentType
        self.data = data
        self.traceparent = traceparent
    }

    /// The structured-mode JSON: `{"specversion":"1.0","id":...,"source":...,"type":...,
    /// "subject":...,"time":...,"datacontenttype":"application/json","data":{...}}`.
    /// `data` is embedded as JSON, not as a string, when the content type is JSON.
    public func structuredJSON() -> String {
        var out = ""
        out.reserveCapacity(192 + source.utf8.count + type.utf8.count + (subject?.utf8.count ?? 0) + data.utf8.count)
        out += "{\"specversion\":\"1.0\",\"id\":\""
        out += id.lowercasedString
        out += "\",\"source\":"
        JSONText.appendString(source, to: &out)
        out += ",\"type\":"
        JSONText.appendString(type, to: &out)
        if let subject {
            out += ",\"subject\":"
            JSONText.appendString(subject, to: &out)
        }
        if let traceparent {
            out += ",\"traceparent\":"
            JSONText.appendString(traceparent, to: &out)
        }
        out += ",\"time\":\""
        out += JSONText.timestamp(time)
        out += "\",\"datacontenttype\":"
        JSONText.appendString(dataContentType, to: &out)
        out += ",\"data\":"
        if dataContentType == "application/json" || dataContentType.hasSuffix("+json") {
            out += data
        } else {
            JSONText.appendString(data, to: &out)
        }
        out += "}"
        return out
    }
}
