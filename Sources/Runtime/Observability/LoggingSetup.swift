import Logging

/// Process-wide logging: JSON lines for machines (the default) or swift-log's text format.
/// Inside a traced span every line carries `trace_id` and `span_id` (`TraceContext`).
public enum LoggingSetup {
    public enum Format: String, Sendable, CaseIterable {
        case json, text
    }

    /// Bootstraps swift-log once per process.
    public static func bootstrap(format: Format, level: Logger.Level) {
        LoggingSystem.bootstrap(
            { label, provider in
                switch format {
                case .json:
                    return JSONLogHandler(label: label, level: level, metadataProvider: provider)
                case .text:
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                }
            }, metadataProvider: TraceContext.loggingMetadataProvider)
    }
}
