import Foundation
import HTTPTypes
import Hummingbird
import IntakeActors
import IntakeRuntime
import NIOCore

/// An RFC 9457 problem: the only shape an error leaves the server in. `slug` is the last
/// path segment of `type`, part of the contract (API.md).
public struct Problem: Error, HTTPResponseError, Sendable {
    public var slug: String
    public var title: String
    public var status: HTTPResponse.Status
    public var detail: String
    /// Extra headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    public init(_ slug: String, _ status: HTTPResponse.Status, title: String, detail: String, headers: HTTPFields = [:]) {
        self.slug = slug
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
    }

    public static let typeBase = "https://intake.dev/problems/"

    struct Body: Codable {
        var type: String
        var title: String
        var status: Int
        var detail: String
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body())))
    }

    /// The problem's JSON.
    func body() -> [UInt8] {
        // Encoding four plain fields cannot fail; an empty body would still carry the status.
        [UInt8]((try? JSONBody.encoder.encode(Body(type: Self.typeBase + slug, title: title, status: Int(status.code), detail: detail))) ?? Data())
    }

    // MARK: The contract's problems

    public static func validation(_ detail: String) -> Problem { Problem("validation", .unprocessableContent, title: "Validation failed", detail: detail) }
    public static func malformedJSON(_ detail: String) -> Problem { Problem("malformed-json", .badRequest, title: "Malformed JSON", detail: detail) }
    public static let payloadTooLarge = Problem(
        "payload-too-large", .contentTooLarge, title: "Payload too large", detail: "request bodies are limited to \(APILimits.maxBodyBytes) bytes")
    public static func unauthorized(_ detail: String = "a valid bearer token is required") -> Problem {
        Problem("unauthorized", .unauthorized, title: "Unauthorized", detail: detail, headers: [.wwwAuthenticate: "Bearer"])
    }
    public static func forbidden(_ detail: String) -> Problem { Problem("forbidden", .forbidden, title: "Forbidden", detail: detail) }
    public static func notFound(_ detail: String = "no such resource") -> Problem { Problem("not-found", .notFound, title: "Not found", detail: detail) }
    public static func overloaded(_ detail: String) -> Problem {
        Problem("overloaded", .serviceUnavailable, title: "Overloaded", detail: detail, headers: [.retryAfter: "1"])
    }
    public static func unavailable(_ detail: String) -> Problem {
        Problem("unavailable", .serviceUnavailable, title: "Unavailable", detail: detail, headers: [.retryAfter: "1"])
    }
    public static let badSignature = Problem("bad-signature", .unauthorized, title: "Bad signature", detail: "the Intake-Signature header is missing, malformed, stale or wrong")
    public static let invalidIdempotencyKey = Problem(
        "invalid-idempotency-key", .badRequest, title: "Invalid idempotency key", detail: "Idempotency-Key must be 1..255 printable ASCII characters")
    public static let idempotencyKeyReused = Problem(
        "idempotency-key-reused", .unprocessableContent, title: "Idempotency key reused",
        detail: "this Idempotency-Key was used with a different request body")
    public static let idempotencyKeyInUse = Problem(
        "idempotency-key-in-use", .conflict, title: "Idempotency key in use", detail: "a request with this Idempotency-Key is still running")
    static let internalError = Problem("internal", .internalServerError, title: "Internal error", detail: "the server failed; the request id is in the logs")

    /// The problem for any error a route lets escape. Domain, runtime, database and Redis
    /// errors become the contract's slugs here and nowhere else.
    public static func from(_ error: any Error) -> Problem? {
        switch error {
        case let problem as Problem:
            return problem
        case let error as DomainError:
            return from(error)
        case let error as RuntimeError:
            return error.code == .overloaded ? .overloaded(error.message) : .unavailable("the server is shutting down")
        case let error as PostgresError where error.isUnavailable || error.isRetryable:
            return .unavailable("the database is unavailable")
        case let error as PostgresError where error.sqlState?.hasPrefix("22") == true:
            // A data exception (a number out of a column's range): the input's fault.
            return .validation("a value is out of range")
        case let error as RedisError where error.isUnavailable:
            return .unavailable("redis is unavailable")
        case is NIOTooManyBytesError:
            return .payloadTooLarge
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return .payloadTooLarge
            case .notFound: return .notFound()
            case .methodNotAllowed: return Problem("method-not-allowed", .methodNotAllowed, title: "Method not allowed", detail: "this path does not accept this method")
            case .badRequest: return .malformedJSON(error.body ?? "bad request")
            default: return Problem("http-\(error.status.code)", error.status, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
            }
        case let error as any HTTPResponseError where error.status.code < 500:
            return Problem("http-\(error.status.code)", error.status, title: error.status.reasonPhrase, detail: error.status.reasonPhrase)
        default:
            return nil
        }
    }

    static func from(_ error: DomainError) -> Problem {
        let detail = error.message
        switch error.code {
        case .invalidTransition: return Problem("invalid-transition", .conflict, title: "Invalid transition", detail: detail)
        case .forbidden: return .forbidden(detail)
        case .insufficientStock: return Problem("insufficient-stock", .conflict, title: "Insufficient stock", detail: detail)
        case .unknownProduct: return Problem("unknown-product", .unprocessableContent, title: "Unknown product", detail: detail)
        case .notFound: return .notFound(detail)
        case .validation:
            // "delta must be ..." names its field already; "must be ..." gets it in front.
            return .validation(error.subject.map { detail.hasPrefix("\($0) ") ? detail : "\($0): \(detail)" } ?? detail)
        case .duplicateRequest: return .idempotencyKeyInUse
        case .idempotencyKeyReused: return .idempotencyKeyReused
        case .amountMismatch: return Problem("amount-mismatch", .unprocessableContent, title: "Amount mismatch", detail: detail)
        case .emailTaken: return Problem("email-taken", .conflict, title: "Email taken", detail: detail)
        case .skuTaken: return Problem("sku-taken", .conflict, title: "SKU taken", detail: detail)
        default: return Problem(error.code.description, .conflict, title: "Refused", detail: detail)
        }
    }
}
