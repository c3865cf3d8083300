import Foundation
import HTTPTypes
import Hummingbird
import IntakeRuntime
import NIOCore

/// Request bodies in, JSON responses out, with the contract's error classes: unparsable JSON
/// is `400 malformed-json`; JSON of the wrong shape is `422 validation` naming the field.
enum JSONBody {
    /// The raw body, at most `APILimits.maxBodyBytes` (else `413`), however it arrives: with
    /// a `Content-Length` (refused before reading) or chunked (refused once the limit is passed).
    static func bytes(of request: Request) async throws -> ByteBuffer {
        var request = request
        if let length = request.headers.value(.contentLength).flatMap(Int.init), length > APILimits.maxBodyBytes {
            throw Problem.payloadTooLarge
        }
        do {
            return try await request.collectBody(upTo: APILimits.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw Problem.payloadTooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Problem.payloadTooLarge
        }
    }

    /// Decodes a request body: strict RFC 8259 JSON first (`400 malformed-json` otherwise;
    /// see `StrictJSON`), then the request's shape, every mismatch a `422 validation` naming
    /// the field path.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        let bytes = Array(buffer: buffer)
        return try decode(type, validated: bytes, summary: try validate(bytes))
    }

    /// `decode`, trying the type's reader of its common shape first.
    static func decode<T: CommonShapeDecodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        let bytes = Array(buffer: buffer)
        let summary = try validate(bytes)
        if let common = T(commonShape: bytes) { return common }
        return try decode(type, validated: bytes, summary: summary)
    }

    private static func validate(_ bytes: [UInt8]) throws -> StrictJSON.Summary {
        do {
            return try StrictJSON.validate(bytes)
        } catch {
            switch error {
            case .malformed(let reason): throw Problem.malformedJSON("the body is not valid JSON: \(reason)")
            case .invalid(let path, let reason): throw Problem.validation("\(path): \(reason)")
            }
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, validated bytes: [UInt8], summary: StrictJSON.Summary) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw problem(for: error, suspect: summary.firstNonIntegerNumber)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        try decode(type, from: try await bytes(of: request))
    }

    /// The problem for a decoding error of a body `StrictJSON` accepted: always a `422`.
    /// `suspect`: the path of the body's first non-integer number, if any.
    static func problem(for error: DecodingError, suspect: String? = nil) -> Problem {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Foundation reports a number that does not fit its field's type (`1.5`, `1e20`
            // for an integer) as corrupt data with no path. Integer fields decode through
            // `decodeInteger`, which names them; any other is named by the scan of the body.
            return .validation("\(suspect ?? "body"): a number does not fit its field")
        case .dataCorrupted(let context):
            return .validation("\(path(context.codingPath)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            return .validation("\(path(context.codingPath + [key])): is required")
        case .valueNotFound(_, let context):
            return .validation("\(path(context.codingPath)): must not be null")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return .validation("body: must be a JSON object") }
            return .validation("\(path(context.codingPath)): must be \(describe(type))")
        @unknown default:
            return .validation("body: does not match the expected shape")
        }
    }

    /// `items[0].quantity`.
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text.isEmpty ? "body" : text
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: "an integer"
        case is Decimal.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "\(type)".contains("Array") ? "an array" : "an object"
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        // Sorted keys: the same value always has the same bytes (replays compare equal).
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        return response(data: [UInt8](data), status: status, headers: headers)
    }

    static func response(data: [UInt8], status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// RFC 3339 UTC with milliseconds, as API.md shows.
enum Timestamp {
    /// `2026-11-27T17:40:00.123Z`, what Foundation's ISO 8601 style with fractional seconds
    /// writes (tested against it), without its calendar arithmetic: three of these per order.
    static func string(_ date: Date) -> String { JSONText.timestamp(date) }
}
