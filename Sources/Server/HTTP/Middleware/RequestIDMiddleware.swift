import Foundation
import HTTPTypes
import IntakeRuntime
import Hummingbird

/// Gives every request an id (the client's `X-Request-Id` when it sent one: up to 1,024
/// bytes of printable ASCII, spaces included), puts it in the logger's metadata and echoes it
/// on every response, errors included. Anything else (non-ASCII bytes, control characters,
/// kilobytes meant for the logs) is replaced by a fresh id rather than written to every log
/// line of the request.
struct RequestIDMiddleware<Context: IntakeContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let sent = request.headers.value(.requestID).flatMap { id in
            (1...1024).contains(id.utf8.count) && id.utf8.allSatisfy { (0x20...0x7E).contains($0) } ? id : nil
        }
        context.requestID = sent ?? UniqueID.uuid().lowercasedString
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // ProblemMiddleware turns every error into a response; this only sees errors
            // from middleware outside it.
            response = (Problem.from(error) ?? .internalError).response()
        }
        response.headers[.requestID] = context.requestID
        return response
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name.constant("X-Request-Id")

    /// A header name written in the source, valid by construction (letters and dashes): a
    /// bad one is a programming error found by the first test that touches it.
    static func constant(_ name: StaticString) -> HTTPField.Name {
        guard let field = HTTPField.Name("\(name)") else { preconditionFailure("\(name) is not a valid header name") }
        return field
    }
}
