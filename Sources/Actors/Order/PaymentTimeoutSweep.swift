import Foundation
import IntakeRuntime
import Logging

/// Cancels PENDING orders whose `expires_at` has passed, with reason `payment-timeout`,
/// releasing their stock. It runs as a periodic job (every second) on the work queue, one
/// process at a time (an advisory lock), and cancels through the order actors, so a payment
/// arriving at the same moment is serialized with the cancel: whichever comes second sees
/// the other's result. It adds no write to the order hot path.
public struct PaymentTimeoutSweep: Sendable {
    public static let jobKind = "intake.orders.payment-timeout"

    let service: OrderService
    let batchSize: Int
    let logger: Logger

    public init(service: OrderService, batchSize: Int = 500, logger: Logger = Logger(label: "intake.orders")) {
        self.service = service
        self.batchSize = batchSize
        self.logger = logger
    }

    /// The periodic job that triggers the sweep.
    public static func periodicJob(every interval: Duration = .seconds(1)) -> PeriodicJob {
        PeriodicJob(name: jobKind, schedule: .every(interval), request: JobRequest(kind: jobKind, maxAttempts: 1))
    }

    public func register(on queue: WorkQueue) {
        queue.register(kind: Self.jobKind, concurrency: 1) { _ in
            try await sweepOnce()
            return .completed
        }
    }

    /// Cancels every order expired now; returns how many it canceled.
    @discardableResult
    public func sweepOnce() async throws -> Int {
        try await service.db.withConnection { session in
            try await session.withAdvisoryLock("hashtext('intake.orders.payment-timeout:' || current_schema())") {
                try await cancelExpired(session)
            } ?? 0
        }
    }

    private func cancelExpired(_ session: PostgresSession) async throws -> Int {
        var canceled = 0
        while true {
            let ids = try await session.query(OrderQueries.expiredOrders, [.int32(Int32(batchSize))]).map { try $0.decode("id", as: UUID.self) }
            if ids.isEmpty { return canceled }
            let done = await expire(ids)
            canceled += done
            if done == 0 { return canceled }  // nothing movable is left in this batch
        }
    }

    /// Sends each order of `ids` (read as expired a moment ago) its `expire`: the actor
    /// decides on its own state whether the order is still PENDING and past its time, so a
    /// payment that landed since the read keeps the order. Returns how many were canceled.
    func expire(_ ids: [UUID]) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for id in ids {
                group.addTask {
                    do {
                        _ = try await service.expire(orderID: id)
                        return true
                    } catch let error as DomainError where error.code == .invalidTransition {
                        return false  // paid (or canceled) since it was read
                    } catch {
                        logger.warning("payment timeout could not cancel an order", metadata: ["order_id": "\(id)", "error": "\(error)"])
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }
}
