import Metrics
import Prometheus
import Synchronization

/// The process's Prometheus registry. `bootstrap()` makes swift-metrics report into it;
/// call it once per process (an embedding gateway that bootstraps its own metrics backend
/// skips it, and Intake's metrics go there instead).
public enum PrometheusExport {
    public static let registry = PrometheusCollectorRegistry()

    /// Bootstraps swift-metrics with the Prometheus factory, once per process (later calls do
    /// nothing: swift-metrics allows one bootstrap).
    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        if first { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
    }

    private static let bootstrapped = Mutex(false)

    /// The text exposition format.
    static func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// The same, as text (what the dashboard reads back).
    static func text() -> String { String(decoding: render(), as: UTF8.self) }
}
