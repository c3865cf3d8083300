import Instrumentation
import Logging
import Synchronization
import Tracing

/// W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/) for what Intake
/// carries across its own boundaries: the mailbox of an actor, the outbox row of an event, a
/// log line. Goes through the bootstrapped instrument (swift-otel's W3C propagator in
/// `intake serve` with `INTAKE_OTLP_ENDPOINT`); with none, every answer is nil or empty and
/// nothing is recorded.
public enum TraceContext {
    /// The `traceparent` header value of `context`'s span (`00-<trace id>-<span id>-<flags>`).
    public static func traceparent(of context: ServiceContext) -> String? {
        var headers = Headers()
        InstrumentationSystem.instrument.inject(context, into: &headers, using: HeadersInjector())
        return headers.values["traceparent"]
    }

    /// Whether spans are recorded (set by whoever bootstraps a tracer, e.g. `intake serve`
    /// with `INTAKE_OTLP_ENDPOINT`; an embedder bootstrapping its own calls `startRecording()`):
    /// when not, the per-event and per-line work below is skipped and Intake opens no span of
    /// its own (`traced`).
    public static var isRecording: Bool { recording.load(ordering: .relaxed) }

    public static func startRecording() { recording.store(true, ordering: .relaxed) }

    private static let recording = Atomic(false)

    /// The current span's `traceparent`, when spans are recorded.
    public static func currentTraceparent() -> String? {
        guard isRecording, let context = ServiceContext.current else { return nil }
        return traceparent(of: context)
    }

    /// A context whose span is the one `traceparent` names (a span link's target, or the
    /// parent of work done for an event).
    public static func context(traceparent: String) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(Headers(values: ["traceparent": traceparent]), into: &context, using: HeadersExtractor())
        return context
    }

    /// `trace_id` and `span_id` of the current span, for every log line written inside it.
    public static let loggingMetadataProvider = Logger.MetadataProvider {
        guard let traceparent = currentTraceparent() else { return [:] }
        let fields = traceparent.split(separator: "-")
        guard fields.count == 4 else { return [:] }
        return ["trace_id": .string(String(fields[1])), "span_id": .string(String(fields[2]))]
    }

    struct Headers { var values: [String: String] = [:] }

    struct HeadersInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout Headers) { carrier.values[key] = value }
    }

    struct HeadersExtractor: Extractor {
        func extract(key: String, from carrier: Headers) -> String? { carrier.values[key] }
    }
}
