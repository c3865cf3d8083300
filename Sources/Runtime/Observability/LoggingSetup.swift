import Logging

/// Process-wide logging: JSON lines for machines (the default) or swift-log's text format.
public enum LoggingSetup {
    public enum Format: String, Sendable, CaseIterable {
        case json, text
    }

    /// Bootstraps swift-log once per process.
    public static func bootstrap(format: Format, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
