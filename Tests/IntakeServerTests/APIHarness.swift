import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IntakeActors
import IntakeData
import IntakeRuntime
import IntakeServer
import IntakeTestSupport
import Logging
import NIOCore
import Testing

/// Intake's API on a fresh schema and Redis prefix, driven through Hummingbird's router
/// test client (no sockets) with the group-commit writer running.
struct APIHarness: Sendable {
    let api: IntakeAPI
    let client: any TestClientProtocol
    let db: PostgresClient
    let redis: RedisClient
    let webhook: WebhookSignature

    static let adminPassword = "admin-password-1"

    func call(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        if json != nil { fields[.contentType] = "application/json" }
        return try await client.executeRequest(uri: uri, method: method, headers: fields, body: json.map { ByteBuffer(string: $0) })
    }

    /// Serves the API on a free loopback port with Intake's own HTTP server (its parser
    /// limits and error handler) for the length of `body`, which gets the port.
    func live(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let app = Application(
            router: api.makeRouter(), server: IntakeAPI.httpServer(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "test.live"))
        try await app.test(.live) { client in
            try await body(try #require(client.port))
        }
    }

    /// Signs up (as a customer) and signs in; returns the user id and a token.
    func customer(_ email: String = "c-\(UUID().uuidString.prefix(8))@example.com") async throws -> (id: String, token: String) {
        let created = try await call(.post, "/v1/users", json: #"{"email":"\#(email)","password":"password-123","name":"Test User"}"#)
        #expect(created.status == .created, "\(created.text)")
        let id = try #require(created.object["id"] as? String)
        return (id, try await signIn(email, "password-123"))
    }

    func signIn(_ email: String, _ password: String) async throws -> String {
        let session = try await call(.post, "/v1/sessions", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
        #expect(session.status == .created, "\(session.text)")
        return try #require(session.object["access_token"] as? String)
    }

    /// An admin created the way `intake admin create` does, signed in.
    func admin() async throws -> String {
        let email = "admin-\(UUID().uuidString.prefix(8))@example.com"
        _ = try await api.users.create(
            email: email, passwordHash: try await api.passwords.hash(Self.adminPassword), name: nil, region: nil, role: .admin)
        return try await signIn(email, Self.adminPassword)
    }

    func product(admin: String, stock: Int, price: String = "10.00", shards: Int = 4) async throws -> String {
        let response = try await call(
            .post, "/v1/products", json: #"{"sku":"SKU-\#(UUID().uuidString.prefix(8))","name":"Thing","price":"\#(price)","initial_stock":\#(stock),"stock_shards":\#(shards)}"#,
            token: admin)
        #expect(response.status == .created, "\(response.text)")
        return try #require(response.object["id"] as? String)
    }

    func order(_ token: String, product: String, quantity: Int = 1, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await call(.post, "/v1/orders", json: #"{"items":[{"product_id":"\#(product)","quantity":\#(quantity)}]}"#, token: token, headers: headers)
    }

    /// The webhook as the payment provider calls it.
    func pay(order: String, amount: String, paymentID: String = UUID().uuidString, status: String = "succeeded", signedAt: Date = Date())
        async throws -> TestResponse
    {
        let body = #"{"payment_id":"\#(paymentID)","order_id":"\#(order)","amount":"\#(amount)","status":"\#(status)"}"#
        return try await call(
            .post, "/v1/payments/webhook", json: body, headers: [.intakeSignatureForTests: webhook.header(for: Array(body.utf8), at: signedAt)])
    }
}

extension HTTPField.Name {
    static var intakeSignatureForTests: HTTPField.Name { HTTPField.Name("Intake-Signature")! }
    static var idempotencyKey: HTTPField.Name { HTTPField.Name("Idempotency-Key")! }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:] }
    /// The slug of a problem response's `type`.
    var problem: String? { (object["type"] as? String)?.replacingOccurrences(of: "https://intake.dev/problems/", with: "") }
}

func withAPI(_ body: @Sendable (APIHarness) async throws -> Void) async throws {
    try await TestServices.withSchema(poolSize: 8) { db, _ in
        try await TestServices.withRedis { redis, prefix in
            let migrations = try IntakeMigrations.all()
            try await Migrator(client: db).migrate(migrations)
            let writer = GroupCommit(client: db)
            let orders = OrderService(db: db, groupCommit: writer)
            let webhook = WebhookSignature(secret: Array("webhook-secret-for-tests".utf8))
            // The data side's files (lake, warehouse) in a scratch directory of this test.
            let dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-api-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dataDirectory) }
            let data = try DataPlatform(
                db: db, settings: try DataSettings.load(from: ProcessInfo.processInfo.environment, dataDirectory: dataDirectory))
            let api = IntakeAPI(
                orders: orders,
                users: UserDirectory(db: db, vault: try PIIVault(masterKey: (0..<32).map { _ in .random(in: 0...255) }), history: orders.history),
                // An hour, not a second: revocation here must come from Redis's invalidations,
                // not from a cached check growing old while a test waits.
                sessions: SessionStore(redis: redis, prefix: prefix, maximumAge: .seconds(3600)), tokens: await TokenIssuer(secret: Array("jwt-secret-for-tests-0123456789abcdef".utf8), lifetime: .seconds(3600)),
                passwords: PasswordHasher(cost: 4), webhook: webhook, readiness: Readiness(db: db, redis: redis, migrations: migrations),
                cache: ReadThroughCache(redis: redis, prefix: prefix + "cache:"),
                settings: .init(defaultStockShards: 4), data: data)
            let app = Application(router: api.makeRouter(), logger: Logger(label: "test.http"))
            try await withRunningServices([writer, api.sessions.tracking]) {
                try await app.test(.router) { client in
                    try await body(APIHarness(api: api, client: client, db: db, redis: redis, webhook: webhook))
                }
            }
        }
    }
}
