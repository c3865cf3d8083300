import HTTPTypes
import Hummingbird

/// Drops a client's `traceparent` and `tracestate` unless they are well-formed W3C Trace
/// Context (https://www.w3.org/TR/trace-context/), before the tracing middleware reads them:
/// a malformed one then starts a new trace quietly. (swift-otel logs the whole header carrier
/// — the client's Authorization and Cookie included — when it cannot decode one, and writes a
/// bad `tracestate` verbatim into its log line.) Runs only when spans are recorded.
struct TraceHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    static var traceparent: HTTPField.Name { HTTPField.Name("traceparent")! }
    static var tracestate: HTTPField.Name { HTTPField.Name("tracestate")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let parents = request.headers[values: Self.traceparent]
        let states = request.headers[values: Self.tracestate]
        guard !parents.isEmpty || !states.isEmpty else { return try await next(request, context) }
        var head = request.head
        head.headerFields[values: Self.traceparent] = []
        head.headerFields[values: Self.tracestate] = []
        if parents.count == 1, let parent = parents.first.map(TraceHeaders.trimmed), TraceHeaders.isValidTraceparent(parent) {
            head.headerFields[Self.traceparent] = parent
            // tracestate means nothing without its traceparent; several headers are one list.
            let state = states.map(TraceHeaders.trimmed).joined(separator: ",")
            if !states.isEmpty, TraceHeaders.isValidTracestate(state) { head.headerFields[Self.tracestate] = state }
        }
        return try await next(Request(head: head, body: request.body), context)
    }
}

/// The W3C Trace Context header grammar.
enum TraceHeaders {
    static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: [" ", "\t"]) }

    /// `00-<32 lowercase hex, not all 0>-<16 lowercase hex, not all 0>-<2 hex>`; a later
    /// version (not `ff`) may carry more fields after a `-`, which are ignored.
    static func isValidTraceparent(_ value: String) -> Bool {
        let fields = value.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 4, isHex(fields[0], count: 2), fields[0] != "ff", isHex(fields[1], count: 32), isHex(fields[2], count: 16),
            isHex(fields[3], count: 2), fields[1].contains(where: { $0 != "0" }), fields[2].contains(where: { $0 != "0" })
        else { return false }
        return fields[0] == "00" ? fields.count == 4 : true
    }

    /// At most 32 `key=value` members and 512 characters, keys and values of the allowed
    /// characters (printable ASCII without `,` and `=`, values without trailing spaces).
    static func isValidTracestate(_ value: String) -> Bool {
        guard value.utf8.count <= 512 else { return false }
        let members = value.split(separator: ",").map { $0.trimmingCharacters(in: [" ", "\t"]) }.filter { !$0.isEmpty }
        guard !members.isEmpty, members.count <= 32 else { return false }
        return members.allSatisfy { member in
            let parts = member.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let key = parts.first, let text = parts.last, !key.isEmpty, key.utf8.count <= 256, !text.isEmpty,
                text.utf8.count <= 256
            else { return false }
            let keyOK = key.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "_-*/@".utf8.contains($0) }
            let valueOK = text.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") }
            return keyOK && valueOK
        }
    }

    private static func isHex(_ text: Substring, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
