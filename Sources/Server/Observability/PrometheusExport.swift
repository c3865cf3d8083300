import Metrics
import Prometheus

/// The process's Prometheus registry. `bootstrap()` makes swift-metrics report into it;
/// call it once per process (an embedding gateway that bootstraps its own metrics backend
/// skips it, and Intake's metrics go there instead).
public enum PrometheusExport {
    public static let registry = PrometheusCollectorRegistry()

    public static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The text exposition format.
    static func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
