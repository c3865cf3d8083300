import AsyncHTTPClient
import Foundation

/// One HTTP request from a test to a server on loopback, answered in full: for the tests that
/// drive `intake serve` as a child process (the in-process API tests use HummingbirdTesting).
public enum TestHTTP {
    public struct Answer: Sendable {
        public var status: UInt
        public var body: String
        /// The body as a JSON object (empty when it is none).
        public var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:] }
    }

    public static func get(_ url: String, headers: [(String, String)] = [], timeout: Duration = .seconds(10)) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request, timeout: timeout)
    }

    /// A JSON POST, with a bearer token and other headers when given.
    public static func post(
        _ url: String, _ body: String, token: String? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(30)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(Array(body.utf8))
        return try await send(request, timeout: timeout)
    }

    private static func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Answer {
        let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
        return Answer(status: response.status.code, body: String(buffer: try await response.body.collect(upTo: 8 << 20)))
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
