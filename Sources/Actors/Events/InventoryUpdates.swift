import Foundation
import IntakeRuntime
import Logging
import Synchronization

/// The `inventory.updated` events of orders and cancellations, coalesced over a short window
/// (`interval`, 100 ms by default): a product whose `available` changed any number of times
/// in it gets one event, written by one transaction through the writer with the level read
/// there — after every change committed before it, so the last event per product carries the
/// current level (API.md: "may be coalesced, the last one per product always wins").
/// Restocks and product creation still write theirs in their own transaction.
///
/// Durable without a write of its own on the order path: every stock move that changes
/// `available` sets its shard's `level_changed` (migration 0008), and the `announcePending`
/// job (every 30 s, one process at a time) announces every marked product and clears its
/// marks in that transaction — so a change whose process stopped before its window closed is
/// announced within 30 s. Window flushes leave the marks alone: clearing them there cost a
/// second update of every changed shard row per window (2.7 µs of Postgres per order
/// in-process, 1,000 products), where the job's extra event per product per 30 s costs
/// nothing.
///
/// Figures (BENCHMARKS.md, session 9): one event per product per batch cost Postgres
/// ≈ 9 µs per order in `pg_stat_statements` (the insert with its level) plus the relay's
/// read and publish of ≈ 0.6 events per order.
public final class InventoryUpdates: Sendable {
    public static let jobKind = "intake.inventory.announce-pending"

    private let groupCommit: GroupCommit
    private let db: PostgresClient
    private let events: DomainEvents
    private let interval: Duration
    private let logger: Logger
    private let state = Mutex(StateMachine())

    /// A failed flush is tried again after this long.
    static let retryDelay: Duration = .seconds(1)

    init(groupCommit: GroupCommit, db: PostgresClient, events: DomainEvents, interval: Duration, logger: Logger) {
        self.groupCommit = groupCommit
        self.db = db
        self.events = events
        self.interval = interval
        self.logger = logger
    }

    /// `products`' `available` changed in a transaction that committed; their event is
    /// written within `interval`, with the current trace as its `traceparent` when it is the
    /// first change of the product's window.
    func changed(_ products: some Sequence<UUID>) {
        if state.withLock({ $0.changed(products, traceparent: TraceContext.currentTraceparent()) }) { scheduleFlush(after: interval) }
    }

    private func scheduleFlush(after delay: Duration) {
        Task {
            // Never cancelled: the task is ours alone. What is owed lives in the state machine.
            try? await Task.sleep(for: delay)
            await flush()
        }
    }

    private func flush() async {
        let due = state.withLock { $0.flushDue() }
        do {
            if !due.isEmpty { try await groupCommit.submit(writeSet(announcing: due, clearingMarks: false)) }
            if state.withLock({ $0.flushSucceeded() }) { scheduleFlush(after: interval) }
        } catch let error as RuntimeError where error.code == .shutDown {
            // The writer has stopped (the process is going down): the shards' `level_changed`
            // keeps what is owed for `announcePending`.
            _ = state.withLock { $0.flushFailed(due) }
            logger.debug("inventory events left to the pending-announcement job", metadata: ["products": "\(due.count)"])
        } catch {
            logger.warning("inventory events not written; trying again", metadata: ["products": "\(due.count)", "error": "\(error)"])
            if state.withLock({ $0.flushFailed(due) }) { scheduleFlush(after: Self.retryDelay) }
        }
    }

    /// Writes one event per product with its level read in this transaction, after the
    /// batch's stock moves (`readsAfterWrites`: after every other statement of the batch too);
    /// first, with `clearingMarks`, clears the products' `level_changed` — a change that
    /// commits after the clear marks its shard again, one that committed before it is in the
    /// level read after it.
    private func writeSet(announcing due: [UUID: String?], clearingMarks: Bool) -> WriteSet {
        var products: [UUID] = [], ids: [UUID] = [], types: [String] = [], bodies: [String] = []
        for (product, traceparent) in due {
            var event = events.inventoryUpdated(productID: product, newStockLevel: -1).event
            event.traceparent = traceparent
            products.append(product)
            ids.append(event.id)
            types.append(event.type)
            bodies.append(event.structuredJSON())
        }
        let clear = PostgresStatement(
            "UPDATE stock_shards SET level_changed = false WHERE product_id = ANY($1::uuid[]) AND level_changed", [.uuidArray(products)])
        return WriteSet((clearingMarks ? [clear] : []) + [
            PostgresStatement(OrderQueries.insertInventoryEvents, [.uuidArray(ids), .uuidArray(products), .textArray(types), .textArray(bodies)]),
            OutboxQueries.notify,
        ], readsAfterWrites: true)
    }

    // MARK: Changes no process announced

    /// The periodic job that runs `announcePending`.
    public static func periodicJob(every interval: Duration = .seconds(30)) -> PeriodicJob {
        PeriodicJob(name: jobKind, schedule: .every(interval), request: JobRequest(kind: jobKind, maxAttempts: 1))
    }

    public func register(on queue: WorkQueue) {
        queue.register(kind: Self.jobKind, concurrency: 1) { _ in
            try await self.announcePending()
            return .completed
        }
    }

    /// Announces every product with a marked shard (changed since the job last ran: its
    /// process may have stopped before its window closed) and clears the marks, in one
    /// transaction; returns how many products.
    @discardableResult
    public func announcePending() async throws -> Int {
        let products = try await db.query("SELECT DISTINCT product_id FROM stock_shards WHERE level_changed").map { try $0.decode("product_id", as: UUID.self) }
        // In chunks: one transaction holds at most 1,000 products' events and marks.
        for start in stride(from: 0, to: products.count, by: 1000) {
            let chunk = products[start..<min(start + 1000, products.count)]
            try await groupCommit.submit(writeSet(announcing: Dictionary(uniqueKeysWithValues: chunk.map { ($0, nil) }), clearingMarks: true))
        }
        return products.count
    }
}
