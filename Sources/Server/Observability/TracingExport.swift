import Foundation
import IntakeRuntime
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces (swift-otel) exported over OTLP/HTTP to `INTAKE_OTLP_ENDPOINT`:
/// a span per HTTP request, `order.*` for the order actor, `stock.hold` for each shard hold,
/// `group_commit.wait` per write set linked to its `group_commit.batch`, `outbox.publish`
/// linked to each event's producer, `job <kind>` per job attempt. The W3C propagator reads a
/// client's `traceparent` (well-formed ones only, `TraceHeaderMiddleware`); events carry it
/// (`CloudEvent.traceparent`), log lines `trace_id`. The standard `OTEL_*` variables
/// (batch delay, sampler, headers...) apply on top; OTLP/gRPC is not built.
public enum TracingExport {
    /// Bootstraps the process's tracer for `endpoint` (the collector's base URL; spans go to
    /// `<endpoint>/v1/traces`); the exporter's service, to run first in the service group so
    /// that it stops last and flushes what the others recorded. Nil endpoint: nothing.
    public static func bootstrap(
        endpoint: String?, serviceName: String = "intake", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (any Service)? {
        guard let endpoint else { return nil }
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            if let value = environment[name], !["http/protobuf", "http/json"].contains(value) {
                throw ConfigurationError("\(name)=\(value): Intake exports traces over OTLP/HTTP only: http/protobuf (the default) or http/json")
            }
        }
        if let value = environment["OTEL_TRACES_EXPORTER"], value != "otlp" {
            throw ConfigurationError("OTEL_TRACES_EXPORTER=\(value): Intake exports traces over OTLP only (unset INTAKE_OTLP_ENDPOINT for none)")
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = tracesURL(endpoint)
        // A collector that is down or slow costs a stop at most a few seconds (the defaults,
        // 10 s per export and 30 s per batch, held `intake serve`'s exit for 15-20 s).
        configuration.traces.otlpExporter.timeout = .seconds(3)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(3)
        // swift-otel's own messages go through Intake's logging (JSON, its level), errors only:
        // at info it prints OTEL_* values (collector API keys in OTEL_EXPORTER_OTLP_HEADERS).
        configuration.diagnosticLogger = .custom(Logger(label: "intake.otel"))
        configuration.diagnosticLogLevel = .error
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            TraceContext.startRecording()
            return backend.service
        } catch {
            throw ConfigurationError("INTAKE_OTLP_ENDPOINT (and OTEL_* variables): \(error)")
        }
    }

    /// `<base>/v1/traces`, the OTLP/HTTP traces path (a base that names it already is kept;
    /// a query or fragment stays after the path).
    static func tracesURL(_ base: String) -> String {
        guard var components = URLComponents(string: base) else { return base }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        components.path = path.hasSuffix("/v1/traces") ? path : path + "/v1/traces"
        return components.string ?? base
    }
}
