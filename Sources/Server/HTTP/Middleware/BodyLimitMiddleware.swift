import Hummingbird
import NIOCore

/// `413 payload-too-large` for a body over `APILimits.maxBodyBytes` on every route, before it
/// runs and whether or not it reads a body: a declared `Content-Length` is refused unread; a
/// chunked body (which declares none) is read up to the limit here, and the route reads the
/// buffered copy. GET and HEAD bodies are left to the server to drain. A body with a
/// `Content-Encoding` other than `identity` is `415` (RFC 9110 §15.5.16, with `Accept-Encoding`);
/// a `Transfer-Encoding` other than `chunked` is `400 malformed-request`.
struct BodyLimitMiddleware<Context: IntakeContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers.value(.contentLength).flatMap(Int.init), length > APILimits.maxBodyBytes {
            throw Problem.payloadTooLarge
        }
        guard request.method != .get, request.method != .head else { return try await next(request, context) }
        // A compressed body would be read as JSON bytes it is not: refused, not guessed at.
        if let encoding = request.headers.value(.contentEncoding), encoding.lowercased().split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) != "identity"
        }) {
            throw Problem(
                "unsupported-media-type", .unsupportedMediaType, title: "Unsupported media type",
                detail: "Content-Encoding \(encoding) is not accepted: send the body uncompressed", headers: [.acceptEncoding: "identity"])
        }
        // A transfer coding other than chunked would be read as bytes it is not (review,
        // session 9: `gzip, chunked` was read as if only chunked). RFC 9112 §6.1 suggests 501;
        // API.md allows no 5xx for any input: 400, as the HTTP parser's refusals.
        if let codings = request.headers.value(.transferEncoding), codings.lowercased().split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) != "chunked"
        }) {
            throw Problem(
                "malformed-request", .badRequest, title: "Malformed request",
                detail: "Transfer-Encoding \(codings) is not supported: send the body as is or chunked")
        }
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
