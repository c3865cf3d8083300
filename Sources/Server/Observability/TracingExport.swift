import IntakeRuntime
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces (swift-otel) exported over OTLP/HTTP to `INTAKE_OTLP_ENDPOINT`:
/// a span per HTTP request, `order.*` for the order actor, `stock.hold` for each shard hold,
/// `group_commit.wait` per write set linked to its `group_commit.batch`, `outbox.publish`
/// linked to each event's producer, `job <kind>` per job attempt. The W3C propagator reads a
/// client's `traceparent`; events carry it (`CloudEvent.traceparent`), log lines `trace_id`.
/// The standard `OTEL_*` variables (protocol, batch delay, sampler...) apply on top.
public enum TracingExport {
    /// Bootstraps the process's tracer for `endpoint` (the collector's base URL; spans go to
    /// `<endpoint>/v1/traces`); the exporter's service, to run first in the service group so
    /// that it stops last and flushes what the others recorded. Nil endpoint: nothing.
    public static func bootstrap(endpoint: String?, serviceName: String = "intake") throws -> (any Service)? {
        guard let endpoint else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = tracesURL(endpoint)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        TraceContext.startRecording()
        return backend.service
    }

    /// `<base>/v1/traces`, the OTLP/HTTP traces path (a base that names it already is kept).
    static func tracesURL(_ base: String) -> String {
        var url = base
        while url.hasSuffix("/") { url.removeLast() }
        return url.hasSuffix("/v1/traces") ? url : url + "/v1/traces"
    }
}
