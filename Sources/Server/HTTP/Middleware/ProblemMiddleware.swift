import Hummingbird
import Logging

/// Turns every error a route throws into `application/problem+json`. Errors the contract
/// does not name are logged with the request id and answered `500` without details.
struct ProblemMiddleware<Context: IntakeContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let problem = Problem.from(error) {
                if problem.status.code >= 500 {
                    context.logger.warning("request failed", metadata: ["status": "\(problem.status.code)", "error": "\(error)"])
                }
                return problem.response()
            }
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return Problem.internalError.response()
        }
    }
}
