import Foundation

/// A product the run created: its id and price (payments must match the amount).
public struct LoadProduct: Sendable, Hashable {
    public var id: UUID
    public var price: String

    public init(id: UUID, price: String) {
        self.id = id
        self.price = price
    }
}

/// Someone placing orders: a customer's token over HTTP, a user id in-process.
public struct LoadUser: Sendable, Hashable {
    public var id: UUID
    public var token: String?

    public init(id: UUID, token: String?) {
        self.id = id
        self.token = token
    }
}

/// An order that got a 201, with what it asked for.
public struct CreatedOrder: Sendable, Hashable {
    public var id: UUID
    public var amount: String
    public var lines: [UUID: Int]
    public var user: LoadUser
    /// When its 201 arrived (wall clock, for the relay lag: 201 → XADD).
    public var acknowledgedAt: Date

    public init(id: UUID, amount: String, lines: [UUID: Int], user: LoadUser, acknowledgedAt: Date = Date()) {
        self.id = id
        self.amount = amount
        self.lines = lines
        self.user = user
        self.acknowledgedAt = acknowledgedAt
    }
}

/// An answer to one request: its status (in-process, the one the HTTP API would give), and
/// what it created or how long the server asked to wait.
public struct LoadAnswer: Sendable {
    public var status: Int
    public var retryAfter: Duration?
    public var order: CreatedOrder?

    public init(status: Int, retryAfter: Duration? = nil, order: CreatedOrder? = nil) {
        self.status = status
        self.retryAfter = retryAfter
        self.order = order
    }

    /// A request that got no answer at all (connection refused, reset, timeout).
    static let noAnswer = LoadAnswer(status: 0)
}

/// Where a load run sends its operations. Set-up failures throw `LoadError`; per-request
/// failures are answers (status 0 when there was none), so a run goes on through them.
public protocol LoadTarget: Sendable {
    var name: String { get }
    func createProducts(count: Int, stock: Int, shards: Int, runID: String) async throws -> [LoadProduct]
    func makeUsers(count: Int, runID: String) async throws -> [LoadUser]
    func create(lines: [(UUID, Int)], user: LoadUser, idempotencyKey: String) async -> LoadAnswer
    func pay(_ order: CreatedOrder, paymentID: String) async -> LoadAnswer
    func cancel(_ order: CreatedOrder) async -> LoadAnswer
    func get(_ order: CreatedOrder) async -> LoadAnswer
    func shutdown() async
}
