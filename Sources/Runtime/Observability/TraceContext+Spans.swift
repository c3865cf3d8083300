import Instrumentation
import Tracing

extension TraceContext {
    /// `withSpan` when spans are recorded (`isRecording`); otherwise `operation` alone, given
    /// nil: no span, no task-local context bound, no attribute formatted. Without a tracer
    /// `withSpan` still made a no-op span and bound it for every order's four spans (order,
    /// shard hold, commit wait, commit batch).
    public static func traced<T>(
        _ name: String, context: @autoclosure () -> ServiceContext = .current ?? .topLevel, ofKind kind: SpanKind = .internal,
        isolation: isolated (any Actor)? = #isolation, function: String = #function, file fileID: String = #fileID, line: UInt = #line,
        _ operation: ((any Span)?) async throws -> T
    ) async rethrows -> T {
        guard isRecording else { return try await operation(nil) }
        return try await withSpan(
            name, context: context(), ofKind: kind, isolation: isolation, function: function, file: fileID, line: line
        ) { span in try await operation(span) }
    }

    /// The synchronous form of `traced`.
    public static func traced<T>(
        _ name: String, ofKind kind: SpanKind = .internal, function: String = #function, file fileID: String = #fileID, line: UInt = #line,
        _ operation: ((any Span)?) throws -> T
    ) rethrows -> T {
        guard isRecording else { return try operation(nil) }
        return try withSpan(name, ofKind: kind, function: function, file: fileID, line: line) { span in try operation(span) }
    }

    /// A span started now and ended by the caller (`end()`), for work that outlives one
    /// scope; nil while spans are not recorded.
    public static func startSpan(_ name: String, context: ServiceContext, ofKind kind: SpanKind = .internal) -> (any Span)? {
        guard isRecording else { return nil }
        return Tracing.startSpan(name, context: context, ofKind: kind)
    }
}
