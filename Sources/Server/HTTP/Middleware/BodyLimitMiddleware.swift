import Hummingbird
import NIOCore

/// `413 payload-too-large` for a body over `APILimits.maxBodyBytes` on every route, before it
/// runs and whether or not it reads a body: a declared `Content-Length` is refused unread; a
/// chunked body (which declares none) is read up to the limit here, and the route reads the
/// buffered copy. GET and HEAD bodies are left to the server to drain.
struct BodyLimitMiddleware<Context: IntakeContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > APILimits.maxBodyBytes {
            throw Problem.payloadTooLarge
        }
        guard request.method != .get, request.method != .head else { return try await next(request, context) }
        var request = request
        do {
            _ = try await request.collectBody(upTo: APILimits.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw Problem.payloadTooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Problem.payloadTooLarge
        }
        return try await next(request, context)
    }
}
