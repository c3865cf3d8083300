import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import IntakeActors
import IntakeData
import IntakeRuntime
import Logging

/// Everything Intake's routes use, built once per process. `addRoutes(to:)` adds the whole
/// contract of API.md to a Hummingbird router — Intake's own, or a gateway's.
public final class IntakeAPI: Sendable {
    /// Choices the contract leaves to configuration.
    public struct Settings: Sendable {
        public var defaultStockShards: Int
        public var webhookTolerance: TimeInterval

        public init(defaultStockShards: Int = 8, webhookTolerance: TimeInterval = 300) {
            self.defaultStockShards = defaultStockShards
            self.webhookTolerance = webhookTolerance
        }
    }

    public let orders: OrderService
    public let users: UserDirectory
    public let sessions: SessionStore
    public let tokens: TokenIssuer
    public let passwords: PasswordHasher
    public let webhook: WebhookSignature
    public let readiness: Readiness
    /// Read-through cache of product and order reads; nil: every read goes to the source.
    public let cache: ReadThroughCache?
    public let settings: Settings
    /// The data side (pipelines, warehouse reports); nil: its routes are not served.
    public let data: DataPlatform?
    /// The operator's live page (`/dashboard`), over the metrics registry and the checks above.
    let dashboard: Dashboard
    let idempotency: IdempotentRequests
    let logger: Logger

    public init(
        orders: OrderService, users: UserDirectory, sessions: SessionStore, tokens: TokenIssuer, passwords: PasswordHasher,
        webhook: WebhookSignature, readiness: Readiness, cache: ReadThroughCache? = nil, settings: Settings = Settings(),
        data: DataPlatform? = nil, logger: Logger = Logger(label: "intake.http")
    ) {
        self.orders = orders
        self.users = users
        self.sessions = sessions
        self.tokens = tokens
        self.passwords = passwords
        self.webhook = webhook
        self.readiness = readiness
        self.cache = cache
        self.settings = settings
        self.data = data
        dashboard = Dashboard(readiness: readiness, data: data)
        self.idempotency = IdempotentRequests(records: IdempotencyRecords(db: orders.db), inFlight: InFlightKeys(), logger: logger)
        self.logger = logger
        if let cache {
            // Stale entries are invalidated before the changing request is answered. A new
            // order has none: an entry is only filled from a committed row, which for a new
            // order is its state as created (two Redis commands saved per order).
            orders.onChange { change in
                let order = change.orderCreated ? nil : change.orderID.map { CacheKey.order($0) }
                await cache.invalidate(change.productIDs.map { CacheKey.product($0) } + (order.map { [$0] } ?? []))
            }
        }
    }

    /// Adds every route of the contract, and the middleware they rely on, to `router`.
    public func addRoutes<Context: IntakeContext>(to router: Router<Context>) {
        // A server span per request (W3C `traceparent` from the client honoured), when spans
        // are recorded: the order actor, the shard holds and the commit wait are its children.
        if TraceContext.isRecording {
            router.add(middleware: TraceHeaderMiddleware())
            router.add(middleware: TracingMiddleware())
        }
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestMetricsMiddleware())
        router.add(middleware: AccessLogMiddleware())
        router.add(middleware: ProblemMiddleware(logger: logger))
        router.add(middleware: BodyLimitMiddleware())
        let table = RouteTable()
        router.add(middleware: MethodNotAllowedMiddleware(table: table))
        // Operations routes answer whoever asks and never look at a credential sent along (a
        // health probe stays `200` while Redis, which session checks need, is down): added
        // before authentication, which Hummingbird applies only to routes added after it —
        // whatever spelling of the path the router matches (`/healthz/` too).
        OperationsRoutes(readiness: readiness).add(to: router)
        router.add(middleware: AuthenticationMiddleware(tokens: tokens, sessions: sessions))
        let v1 = router.group("v1")
        let reads = CachedReads(cache: cache)
        let signIn = SignIn(users: users, sessions: sessions, tokens: tokens, passwords: passwords)
        DashboardRoutes(dashboard: dashboard, session: DashboardSession(tokens: tokens, sessions: sessions), signIn: signIn).add(to: router)
        UserRoutes(users: users, sessions: sessions, passwords: passwords).add(to: v1)
        SessionRoutes(signIn: signIn).add(to: v1)
        ProductRoutes(orders: orders, reads: reads, idempotency: idempotency, defaultStockShards: settings.defaultStockShards).add(to: v1)
        OrderRoutes(orders: orders, reads: reads, idempotency: idempotency).add(to: v1)
        PaymentRoutes(orders: orders, webhook: webhook).add(to: v1)
        EtlRoutes(platform: data, idempotency: idempotency).add(to: v1)
        table.register(router.routes.map { ($0.method, $0.path.description) })
    }

    /// The HTTP/1.1 server Intake runs on: header limits (16 KiB a field, 64 KiB in all, 100
    /// fields: larger requests are refused with `431` before any route runs), requests the
    /// parser refuses answered as problems (`HTTPParserErrorHandler`), and connections idle
    /// for 60 s closed. Embedders pass it to their `Application` to get the same behaviour.
    public static func httpServer() -> HTTPServerBuilder {
        .http1(
            configuration: .init(
                additionalChannelHandlers: [HTTPParserErrorHandler()],
                idleTimeout: .seconds(60),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 64 << 10, maxHeaderFieldCount: 100)))
    }

    /// The options Intake's router is built with: `HEAD` answered wherever `GET` is (RFC 9110
    /// §9.3.2: the GET's status and headers, no body). Embedders pass them to their `Router`.
    public static let routerOptions: RouterOptions = .autoGenerateHeadEndpoints

    /// A router of Intake's own, with only Intake's routes.
    public func makeRouter() -> Router<IntakeRequestContext> {
        let router = Router(context: IntakeRequestContext.self, options: Self.routerOptions)
        addRoutes(to: router)
        return router
    }
}

extension IntakeContext {
    /// The authenticated principal, or `401 unauthorized`.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw Problem.unauthorized() }
        return principal
    }

    /// An admin principal: `401` without a token, `403` with a customer's.
    func requireAdmin() throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.isAdmin else { throw Problem.forbidden("this action is for admins") }
        return principal
    }

    /// A UUID path parameter, percent-decoded first (`%30` and `0` are the same URI, RFC 3986
    /// §6.2.2.2, as in a query's cursor); anything else cannot name a resource (`404`).
    func uuidParameter(_ name: String) throws -> UUID {
        guard let raw = parameters.get(name), let id = UUID(canonical: raw.removingPercentEncoding ?? raw) else { throw Problem.notFound() }
        return id
    }
}

extension Request {
    /// A query parameter `limit` in 1...max (default when absent).
    func pageLimit() throws -> Int {
        guard let text = uri.queryParameters.get("limit") else { return APILimits.defaultPageSize }
        guard let limit = Int(text), (1...APILimits.maxPageSize).contains(limit) else {
            throw Problem.validation("limit: must be an integer 1..\(APILimits.maxPageSize)")
        }
        return limit
    }

    /// A query parameter `cursor`: the opaque value of a previous page's `next_cursor`.
    func pageCursor() throws -> UUID? {
        guard let text = uri.queryParameters.get("cursor") else { return nil }
        guard let id = UUID(canonical: text) else { throw Problem.validation("cursor: not a cursor this API returned") }
        return id
    }
}

/// The cache's keys.
enum CacheKey {
    static func product(_ id: UUID) -> String { "product:\(id.lowercased)" }
    static func order(_ id: UUID) -> String { "order:\(id.lowercased)" }
}
