import Hummingbird
import Logging

/// One structured log line per request: method, path, status, duration (and the request id,
/// from the logger's metadata).
struct AccessLogMiddleware<Context: IntakeContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Below info, nothing is built: the line costs nothing on the hot path.
        guard context.logger.logLevel <= .info else { return try await next(request, context) }
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "duration_ms": "\(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)",
        ]
        context.logger.info("request", metadata: metadata)
        return response
    }
}
