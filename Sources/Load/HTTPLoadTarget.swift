import AsyncHTTPClient
import Foundation
import IntakeServer
import NIOCore
import NIOHTTP1

/// A running Intake server, over keep-alive HTTP/1.1 connections.
public final class HTTPLoadTarget: LoadTarget {
    public let name: String
    private let base: String
    private let client: HTTPClient
    private let webhook: WebhookSignature?
    private let adminToken: String

    /// Signs the admin in; an unreachable server or wrong credentials fail here, as one line.
    public static func connect(_ options: LoadOptions) async throws -> HTTPLoadTarget {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        let base = options.url.hasSuffix("/") ? String(options.url.dropLast()) : options.url
        // The sign-in goes through a client that does not retry a refused connection, so that
        // a wrong URL is said at once; the run's client retries (a server restarting under load
        // is waited for, not counted as failures).
        var signInConfiguration = configuration
        signInConfiguration.connectionPool.retryConnectionEstablishment = false
        let signInClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: signInConfiguration)
        let signIn: Result<(status: Int, body: [UInt8]), any Error>
        do {
            let (status, body, _) = try await Self.send(
                signInClient, base, .POST, "/v1/sessions",
                json: ["email": options.adminEmail ?? "", "password": options.adminPassword ?? ""])
            signIn = .success((status, body))
        } catch {
            signIn = .failure(error)
        }
        // Nothing is in flight any more; a failure to close changes nothing the user is told.
        try? await signInClient.shutdown()
        switch signIn {
        case .failure(let error):
            throw LoadError("cannot reach \(base): \(Self.describe(error))")
        case .success(let (status, body)):
            guard status == 201, let token = Self.object(body)["access_token"] as? String else {
                throw LoadError("admin sign-in at \(base) failed with \(status): check --admin-email and --admin-password")
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            return HTTPLoadTarget(
                name: base, base: base, client: client, webhook: options.webhookSecret.map { WebhookSignature(secret: Array($0.utf8)) },
                adminToken: token)
        }
    }

    private init(name: String, base: String, client: HTTPClient, webhook: WebhookSignature?, adminToken: String) {
        self.name = name
        self.base = base
        self.client = client
        self.webhook = webhook
        self.adminToken = adminToken
    }

    public func createProducts(count: Int, stock: Int, shards: Int, runID: String) async throws -> [LoadProduct] {
        var products: [LoadProduct] = []
        for n in 0..<count {
            let price = String(format: "%d.%02d", 1 + n % 50, (n * 7) % 100)
            let (status, body) = try await Self.setUp(
                client, base, "/v1/products", key: "load-\(runID)-product-\(n)",
                json: ["sku": "load-\(runID)-\(n)", "name": "Load product \(n)", "price": price, "initial_stock": stock, "stock_shards": shards],
                token: adminToken)
            guard status == 201, let id = (Self.object(body)["id"] as? String).flatMap(UUID.init(uuidString:)) else {
                throw LoadError("creating product \(n) failed with \(status): \(String(decoding: body, as: UTF8.self))")
            }
            products.append(LoadProduct(id: id, price: price))
        }
        return products
    }

    public func makeUsers(count: Int, runID: String) async throws -> [LoadUser] {
        try await withThrowingTaskGroup(of: LoadUser.self) { group in
            for n in 0..<count {
                group.addTask { [client, base] in
                    let email = "load-\(runID)-\(n)@example.com"
                    let password = "load-password-\(runID)"
                    let (created, createdBody) = try await Self.setUp(
                        client, base, "/v1/users", key: "load-\(runID)-user-\(n)", json: ["email": email, "password": password, "name": "Load user \(n)"])
                    guard created == 201, let id = (Self.object(createdBody)["id"] as? String).flatMap(UUID.init(uuidString:)) else {
                        throw LoadError("signing up a load user failed with \(created)")
                    }
                    let (status, body) = try await Self.setUp(
                        client, base, "/v1/sessions", key: "load-\(runID)-session-\(n)", json: ["email": email, "password": password])
                    guard status == 201, let token = Self.object(body)["access_token"] as? String else {
                        throw LoadError("signing in a load user failed with \(status)")
                    }
                    return LoadUser(id: id, token: token)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    public func create(lines: [(UUID, Int)], user: LoadUser, idempotencyKey: String) async -> LoadAnswer {
        let items = lines.map { ["product_id": $0.0.lowercasedString, "quantity": $0.1] as [String: Any] }
        return await answer(.POST, "/v1/orders", json: ["items": items], token: user.token, headers: ["Idempotency-Key": idempotencyKey]) { body in
            let object = Self.object(body)
            guard let id = (object["id"] as? String).flatMap(UUID.init(uuidString:)), let amount = object["amount"] as? String else { return nil }
            return CreatedOrder(id: id, amount: amount, lines: Dictionary(lines, uniquingKeysWith: +), user: user)
        }
    }

    public func pay(_ order: CreatedOrder, paymentID: String) async -> LoadAnswer {
        let body: [String: Any] = ["payment_id": paymentID, "order_id": order.id.lowercasedString, "amount": order.amount, "status": "succeeded"]
        guard let data = try? JSONSerialization.data(withJSONObject: body) else { return .noAnswer }
        let signature = webhook?.header(for: [UInt8](data)) ?? ""
        return await answer(.POST, "/v1/payments/webhook", raw: [UInt8](data), token: nil, headers: ["Intake-Signature": signature])
    }

    public func cancel(_ order: CreatedOrder) async -> LoadAnswer {
        await answer(.POST, "/v1/orders/\(order.id.lowercasedString)/cancel", token: order.user.token)
    }

    public func get(_ order: CreatedOrder) async -> LoadAnswer {
        await answer(.GET, "/v1/orders/\(order.id.lowercasedString)", token: order.user.token)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    // MARK: HTTP

    private func answer(
        _ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, raw: [UInt8]? = nil, token: String?, headers: [String: String] = [:],
        created: ([UInt8]) -> CreatedOrder? = { _ in nil }
    ) async -> LoadAnswer {
        do {
            let (status, body, responseHeaders) = try await Self.send(client, base, method, path, json: json, raw: raw, token: token, headers: headers)
            let retryAfter = responseHeaders.first(name: "retry-after").flatMap(Int.init).map { Duration.seconds($0) }
            return LoadAnswer(status: status, retryAfter: status == 503 ? (retryAfter ?? .seconds(1)) : nil, order: status == 201 ? created(body) : nil)
        } catch {
            return .noAnswer
        }
    }

    /// A set-up POST that rides out a server briefly unable to answer (a database failover,
    /// a restart): `503` is retried after its `Retry-After`, and no answer after a second, for
    /// up to a minute. Its Idempotency-Key makes a retry of a request that did land a replay.
    private static func setUp(
        _ client: HTTPClient, _ base: String, _ path: String, key: String, json: [String: Any], token: String? = nil
    ) async throws -> (Int, [UInt8]) {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                let (status, body, headers) = try await send(client, base, .POST, path, json: json, token: token, headers: ["Idempotency-Key": key])
                guard status == 503, ContinuousClock.now < deadline else { return (status, body) }
                let wait = headers.first(name: "Retry-After").flatMap(Int.init) ?? 1
                try await Task.sleep(for: .seconds(min(max(wait, 1), 5)))
            } catch where ContinuousClock.now < deadline && !(error is CancellationError) {
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private static func send(
        _ client: HTTPClient, _ base: String, _ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, raw: [UInt8]? = nil,
        token: String? = nil, headers: [String: String] = [:]
    ) async throws -> (Int, [UInt8], HTTPHeaders) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let body = try raw ?? json.map { [UInt8](try JSONSerialization.data(withJSONObject: $0)) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), Array(buffer: buffer), response.headers)
    }

    static func object(_ body: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// An HTTP client error as one plain line (AsyncHTTPClient's own text nests NIO's).
    public static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused (is the server running?)" }
        if text.contains("connectTimeout") { return "connection timed out" }
        return text
    }
}
