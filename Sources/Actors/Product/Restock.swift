import Foundation
import IntakeRuntime

extension OrderService {
    /// Adds `delta` units to a product (negative: writes them off), spread over its shards,
    /// with an `inventory.updated` event carrying the new total `available`, in one
    /// transaction through the single writer. A write-off is a reservation like an order's
    /// (`Reservation`): it holds the units on the shards first, so it can never take units
    /// another order holds, fails with `insufficientStock` (taking nothing) when fewer are
    /// available, and keeps its holds when its commit's outcome is unknown.
    public func restock(productID: UUID, delta: Int) async throws -> ProductStock {
        guard (-100_000_000...100_000_000).contains(delta) else {
            throw DomainError(.validation, "delta must be within ±100000000", subject: "delta")
        }
        guard let product = try await catalog.product(productID) else {
            throw DomainError(.notFound, "no product \(productID.lowercasedString)")
        }
        let event = events.inventoryUpdated(productID: productID, newStockLevel: -1)
        let writer = WriteSubmitter(groupCommit: groupCommit, db: db)
        let landed = try await OutboxQueries.landingCheck(for: event.event.id, on: db)
        if delta > 0 {
            var perShard = [Int](repeating: 0, count: product.stockShards)
            for shard in 0..<product.stockShards {
                perShard[shard] = delta / product.stockShards + (shard < delta % product.stockShards ? 1 : 0)
            }
            let keys = perShard.indices.filter { perShard[$0] > 0 }.map { ShardKey(productID: productID, shard: $0) }
            try await shards.loadAndPin(keys)
            switch await writer.submit(Self.adjustment(productID, perShard, event: event), landed: landed) {
            case .committed(let transaction):
                for key in keys { shards.deliver(.restocked(perShard[key.shard], committedIn: transaction), to: key) }
                keys.forEach(shards.unpin)
            case .failed(let error as PostgresError)
            where error.sqlState == "22003" || (error.code == .checkViolation && error.constraint == "stock_shards_capacity"):
                // The database refused a shard's units past its int4: the delta is too large.
                keys.forEach(shards.unpin)
                throw DomainError(.validation, "delta would take a stock shard past 2147483647 units", subject: "delta")
            case .failed(let error), .unknown(let error):
                // Unknown: memory may show less stock than the database, never more; the
                // unpinned shards reload what it has when next activated.
                keys.forEach(shards.unpin)
                throw error
            }
        } else if delta < 0 {
            let line = Reservation.Line(productID: productID, quantity: -delta, shardOrder: Array(0..<product.stockShards))
            do {
                _ = try await ShardReserver(shards: shards, groupCommit: groupCommit).reserve(
                    [line], confirmation: { .writtenOff($0, committedIn: $1) },
                    shortage: { _, available in
                        DomainError(
                            .insufficientStock, "cannot write off \(-delta) units of \(productID.lowercasedString): only \(available) available",
                            subject: productID.lowercasedString)
                    }
                ) { holds in
                    var perShard = [Int](repeating: 0, count: product.stockShards)
                    for hold in holds { perShard[hold.shard] -= hold.quantity }
                    return await writer.submit(Self.adjustment(productID, perShard, event: event), landed: landed)
                }
            } catch let unknown as ShardReserver.OutcomeUnknown {
                throw unknown.underlying
            }
        }
        if delta != 0 {
            // The event above carries the level as the restock's own transaction saw it.
            // Another process's coalesced event read before this commit but published after
            // it (the relay goes by transaction id, assigned at a transaction's first write)
            // would end on a stale level: announce the product once more, read after this
            // commit (hostile review, session 9).
            inventoryUpdates.changed([productID])
            await stockChanged(productID)
        }
        guard let stock = try await catalog.stock(productID) else {
            throw DomainError(.notFound, "no product \(productID.lowercasedString)")
        }
        return stock
    }

    /// The write set of a restock or write-off: shard deltas, the stock ledger's movement, and
    /// the `inventory.updated` event with the level read after them.
    private static func adjustment(_ productID: UUID, _ perShard: [Int], event: OutboxEvent) -> WriteSet {
        let changed = perShard.indices.filter { perShard[$0] != 0 }
        return WriteSet([
            PostgresStatement(
                OrderQueries.adjustStock,
                [.uuidArray(changed.map { _ in productID }), .int32Array(changed.map { Int32($0) }), .int32Array(changed.map { Int32(perShard[$0]) })]),
            PostgresStatement(OrderQueries.recordStockMovement, [.uuid(productID), .int64(Int64(perShard.reduce(0, +)))]),
            PostgresStatement(
                OrderQueries.insertInventoryEvent,
                [.uuid(event.event.id), .text(event.aggregateID), .text(event.event.type), .text(OutboxQueries.traced(event.event).structuredJSON())]),
            OutboxQueries.notify,
        ])
    }
}
