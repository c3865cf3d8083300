import Foundation
import IntakeRuntime

extension OrderService {
    /// Adds `delta` units to a product (negative: writes them off), spread over its shards,
    /// with an `inventory.updated` event carrying the new total `available`, in one
    /// transaction. A write-off first holds the units on the shards, as an order would, so it
    /// can never take units another order holds, and fails with `insufficientStock` (taking
    /// nothing) when fewer are available.
    public func restock(productID: UUID, delta: Int) async throws -> ProductStock {
        guard abs(delta) <= 100_000_000 else {
            throw DomainError(.validation, "delta must be within ±100000000", subject: "delta")
        }
        guard let product = try await catalog.product(productID) else {
            throw DomainError(.notFound, "no product \(productID.uuidString.lowercased())")
        }
        var perShard = [Int](repeating: 0, count: product.stockShards)
        if delta > 0 {
            for shard in 0..<product.stockShards {
                perShard[shard] = delta / product.stockShards + (shard < delta % product.stockShards ? 1 : 0)
            }
            try await shards.loadAndPin(perShard.indices.filter { perShard[$0] > 0 }.map { ShardKey(productID: productID, shard: $0) })
        } else if delta < 0 {
            var remaining = -delta
            for shard in 0..<product.stockShards where remaining > 0 {
                let taken: Int
                do {
                    taken = try await shards.pinnedHold(upTo: remaining, at: ShardKey(productID: productID, shard: shard))
                } catch {
                    releaseWriteOffHolds(productID, perShard)
                    throw error
                }
                perShard[shard] = -taken
                remaining -= taken
            }
            if remaining > 0 {
                releaseWriteOffHolds(productID, perShard)
                throw DomainError(
                    .insufficientStock, "cannot write off \(-delta) units of \(productID.uuidString.lowercased()): only \(-delta - remaining) available",
                    subject: productID.uuidString.lowercased())
            }
        }
        if delta != 0 {
            let shardsChanged = perShard.indices.filter { perShard[$0] != 0 }
            let event = events.inventoryUpdated(productID: productID, newStockLevel: -1)
            do {
                // Through the single writer, like every order: a transaction of its own
                // would lock shard rows in a different order than a concurrent batch and
                // deadlock with it.
                try await groupCommit.submit(WriteSet([
                    PostgresStatement(
                        OrderQueries.adjustStock,
                        [.uuidArray(shardsChanged.map { _ in productID }), .int32Array(shardsChanged.map { Int32($0) }),
                         .int32Array(shardsChanged.map { Int32(perShard[$0]) })]),
                    PostgresStatement(OrderQueries.recordStockMovement, [.uuid(productID), .int64(Int64(delta))]),
                    PostgresStatement(
                        OrderQueries.insertInventoryEvent,
                        [.uuid(event.event.id), .text(event.aggregateID), .text(event.event.type), .text(event.event.structuredJSON())]),
                    OutboxQueries.notify,
                ]))
            } catch {
                if delta < 0 {
                    releaseWriteOffHolds(productID, perShard)
                } else {
                    shardsChanged.forEach { shards.unpin(ShardKey(productID: productID, shard: $0)) }
                }
                throw error
            }
            for shard in shardsChanged {
                let key = ShardKey(productID: productID, shard: shard)
                try? shards.tell(perShard[shard] > 0 ? .restocked(perShard[shard]) : .writtenOff(-perShard[shard]), to: key)
                shards.unpin(key)
            }
        }
        if delta != 0 { await stockChanged(productID) }
        guard let stock = try await catalog.stock(productID) else {
            throw DomainError(.notFound, "no product \(productID.uuidString.lowercased())")
        }
        return stock
    }

    private func releaseWriteOffHolds(_ productID: UUID, _ perShard: [Int]) {
        for (shard, change) in perShard.enumerated() where change < 0 {
            let key = ShardKey(productID: productID, shard: shard)
            try? shards.tell(.releaseHold(-change), to: key)
            shards.unpin(key)
        }
    }
}
