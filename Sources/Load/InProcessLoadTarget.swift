import Foundation
import IntakeActors
import IntakeRuntime
import IntakeServer
import Logging
import ServiceLifecycle

/// The embeddable order service itself, on the configured Postgres and Redis: no HTTP, the
/// runtime's own ceiling. Statuses are the ones the HTTP API would answer.
public final class InProcessLoadTarget: LoadTarget {
    public let name: String
    let infrastructure: IntakeInfrastructure
    let services: IntakeServices
    private let running: Task<Void, any Error>
    private let group: ServiceGroup

    public static func start(_ configuration: IntakeConfiguration, logger: Logger) async throws -> InProcessLoadTarget {
        let infrastructure = try await IntakeInfrastructure.start(configuration, logger: logger, command: "load")
        do {
            try await infrastructure.migrate()
            // No HTTP here: the secrets only have to exist.
            let secrets = IntakeSecrets(
                jwtSecret: (0..<32).map { _ in .random(in: 0...255) }, webhookSecret: (0..<32).map { _ in .random(in: 0...255) },
                piiKey: (0..<32).map { _ in .random(in: 0...255) })
            let services = try await IntakeServices(
                infrastructure: infrastructure, configuration: configuration, secrets: secrets, readCache: false, logger: logger)
            return InProcessLoadTarget(infrastructure: infrastructure, services: services, logger: logger)
        } catch {
            await infrastructure.shutdown()
            throw error
        }
    }

    private init(infrastructure: IntakeInfrastructure, services: IntakeServices, logger: Logger) {
        self.infrastructure = infrastructure
        self.services = services
        self.name = "in-process \(infrastructure.postgres.configuration.redactedURL)"
        let group = ServiceGroup(configuration: .init(services: services.all.map { .init(service: $0) }, logger: logger))
        self.group = group
        running = Task { try await group.run() }
    }

    public func createProducts(count: Int, stock: Int, shards: Int, runID: String) async throws -> [LoadProduct] {
        var products: [LoadProduct] = []
        for n in 0..<count {
            let price = Money(cents: Int64(100 + (n * 707) % 5000))
            let product = try await services.orders.createProduct(
                sku: "load-\(runID)-\(n)", name: "Load product \(n)", price: price, initialStock: stock, shards: shards)
            products.append(LoadProduct(id: product.id, price: price.description))
        }
        return products
    }

    public func makeUsers(count: Int, runID: String) async throws -> [LoadUser] {
        (0..<count).map { _ in LoadUser(id: UUIDv7.make(), token: nil) }
    }

    public func create(lines: [(UUID, Int)], user: LoadUser, idempotencyKey: String) async -> LoadAnswer {
        do {
            let order = try await services.orders.createOrder(
                NewOrder(userID: user.id, lines: lines.map { NewOrder.Line(productID: $0.0, quantity: $0.1) }, idempotencyKey: idempotencyKey))
            return LoadAnswer(
                status: 201, order: CreatedOrder(id: order.id, amount: order.amount.description, lines: Dictionary(lines, uniquingKeysWith: +), user: user))
        } catch {
            return Self.answer(for: error)
        }
    }

    public func pay(_ order: CreatedOrder, paymentID: String) async -> LoadAnswer {
        await run { _ = try await services.orders.pay(orderID: order.id, paymentID: paymentID, amount: Money(order.amount) ?? .zero, succeeded: true) }
    }

    public func cancel(_ order: CreatedOrder) async -> LoadAnswer {
        await run { _ = try await services.orders.cancel(orderID: order.id, by: .customer, reason: .user) }
    }

    public func get(_ order: CreatedOrder) async -> LoadAnswer {
        await run { _ = try await services.orders.order(order.id) }
    }

    public func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        await infrastructure.shutdown()
    }

    private func run(_ body: () async throws -> Void) async -> LoadAnswer {
        do {
            try await body()
            return LoadAnswer(status: 200)
        } catch {
            return Self.answer(for: error)
        }
    }

    static func answer(for error: any Error) -> LoadAnswer {
        guard let problem = Problem.from(error) else { return LoadAnswer(status: 500) }
        return LoadAnswer(status: Int(problem.status.code), retryAfter: problem.status.code == 503 ? .milliseconds(100) : nil)
    }
}

extension InProcessLoadTarget {
    /// A verifier on this target's own Postgres and Redis.
    public func verifier(_ options: LoadOptions) -> Verifier {
        Verifier(
            db: infrastructure.postgres, redis: infrastructure.redis, stream: options.eventStream, eventTypePrefix: options.eventTypePrefix,
            eventWait: options.eventWait)
    }
}
