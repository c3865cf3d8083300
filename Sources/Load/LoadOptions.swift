import Foundation

/// What `intake load` does.
public struct LoadOptions: Sendable {
    public enum Mode: String, Sendable, Codable {
        case http
        case inProcess = "in-process"
    }

    public var mode = Mode.http
    /// The server, in HTTP mode.
    public var url = "http://127.0.0.1:8080"
    public var adminEmail: String?
    public var adminPassword: String?
    /// Signs the payment webhook (the server's INTAKE_WEBHOOK_SECRET).
    public var webhookSecret: String?
    /// Where verification reads orders and stock (HTTP mode: the server's database).
    public var databaseURL: String?
    public var redisURL: String?
    public var eventStream = "intake:events"
    public var eventTypePrefix = "com.example"
    public var products = 100
    /// When > 0, this many products get `hotShare` percent of the picks (a skewed, contended
    /// mix).
    public var hotProducts = 0
    public var hotShare = 80
    public var stockPerProduct = 1_000_000
    public var shards = 8
    /// Items per created order: 1...maxItems, distinct products.
    public var maxItems = 1
    public var users = 16
    public var duration: Duration? = .seconds(10)
    public var requests: Int?
    public var concurrency = 64
    public var mix = OperationMix.standard
    public var jsonPath: String?
    /// How long verification waits for the relay to publish every order.created.
    public var eventWait: Duration = .seconds(60)
    /// Progress lines on standard error (rewritten in place on a terminal).
    public var progress = true
    /// Processes whose CPU time over the measured phase the report divides by the orders
    /// created (`--cpu LABEL=PID`).
    public var cpu: [ProcessCPU] = []

    public init() {}

    public func validate() throws(LoadError) {
        if mode == .http {
            guard BaseURL.isHTTP(url) else {
                throw LoadError("--url: \(self.url) is not an http:// or https:// URL")
            }
            guard adminEmail != nil, adminPassword != nil else {
                throw LoadError("HTTP mode needs --admin-email and --admin-password (or INTAKE_ADMIN_EMAIL/INTAKE_ADMIN_PASSWORD) to create products")
            }
            if (mix.weights[.pay] ?? 0) > 0, webhookSecret == nil {
                throw LoadError("payments go through the signed webhook: give --webhook-secret (or INTAKE_WEBHOOK_SECRET), or leave pay out of --mix")
            }
        }
        guard products >= 1, products <= 100_000 else { throw LoadError("--products: expected 1...100000") }
        guard hotProducts >= 0, hotProducts <= products else { throw LoadError("--hot-products: expected 0...--products") }
        guard (0...100).contains(hotShare) else { throw LoadError("--hot-share: expected a percentage 0...100") }
        guard (1...64).contains(shards) else { throw LoadError("--shards: expected 1...64") }
        guard (1...100).contains(maxItems), maxItems <= products else { throw LoadError("--items: expected 1...100 and at most --products") }
        guard concurrency >= 1, concurrency <= 10_000 else { throw LoadError("--concurrency: expected 1...10000") }
        guard stockPerProduct >= 1, stockPerProduct <= 1_000_000_000 else { throw LoadError("--stock: expected 1...1000000000") }
        guard users >= 1, users <= 10_000 else { throw LoadError("--users: expected 1...10000") }
        if let requests, requests < 1 { throw LoadError("--requests: expected at least 1") }
        if duration == nil && requests == nil { throw LoadError("give --duration or --requests") }
        if Set(cpu.map(\.label)).count != cpu.count { throw LoadError("--cpu: each label once") }
        for process in cpu { _ = try process.microseconds() }
    }
}
