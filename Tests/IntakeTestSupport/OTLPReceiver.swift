import Foundation

/// An OpenTelemetry collector for tests: receives OTLP/HTTP with JSON bodies
/// (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) on 127.0.0.1 and decodes the spans.
public final class OTLPReceiver: Sendable {
    /// One received span; ids in lowercase hex, as in a `traceparent`.
    public struct Span: Sendable, Hashable {
        public var name: String
        public var kind: Int
        public var traceID: String
        public var spanID: String
        public var parentSpanID: String?
        /// `(trace id, span id)` of each link.
        public var links: [Link]

        public struct Link: Sendable, Hashable {
            public var traceID: String
            public var spanID: String
        }
    }

    private let http: WebhookReceiver

    public static func start() async throws -> OTLPReceiver { OTLPReceiver(http: try await WebhookReceiver.start()) }

    private init(http: WebhookReceiver) { self.http = http }

    /// The base URL to give as `INTAKE_OTLP_ENDPOINT`.
    public var endpoint: String { "http://127.0.0.1:\(http.port)" }

    /// Every span received so far.
    public var spans: [Span] {
        http.received.flatMap { Self.decode($0.body) }
    }

    public func stop() async { await http.stop() }

    /// `resourceSpans[].scopeSpans[].spans[]` of one export request. The protobuf JSON
    /// mapping writes ids as base64 (swift-otel does); hex is accepted too.
    static func decode(_ body: String) -> [Span] {
        guard let root = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else { return [] }
        let resources = root["resourceSpans"] as? [[String: Any]] ?? []
        return resources.flatMap { resource in
            (resource["scopeSpans"] as? [[String: Any]] ?? []).flatMap { scope in
                (scope["spans"] as? [[String: Any]] ?? []).compactMap { span -> Span? in
                    guard let name = span["name"] as? String, let trace = hex(span["traceId"]), let id = hex(span["spanId"]) else { return nil }
                    let links = (span["links"] as? [[String: Any]] ?? []).compactMap { link -> Span.Link? in
                        guard let trace = hex(link["traceId"]), let id = hex(link["spanId"]) else { return nil }
                        return Span.Link(traceID: trace, spanID: id)
                    }
                    let parent = hex(span["parentSpanId"]).flatMap { $0.isEmpty ? nil : $0 }
                    return Span(name: name, kind: span["kind"] as? Int ?? 0, traceID: trace, spanID: id, parentSpanID: parent, links: links)
                }
            }
        }
    }

    private static func hex(_ value: Any?) -> String? {
        guard let text = value as? String else { return nil }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit), text.count == 16 || text.count == 32 { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return nil }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
