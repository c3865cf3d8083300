import Foundation
import IntakeRuntime

extension OrderService {
    /// Adds `delta` units to a product (negative: writes them off), spread over its shards,
    /// with an `inventory.updated` event carrying the new total `available`, in one
    /// transaction. A write-off first holds the units on the shards, as an order would, so it
    /// can never take units another order holds, and fails with `insufficientStock` (taking
    /// nothing) when fewer are available.
    public func restock(productID: UUID, delta: Int) async throws -> ProductStock {
        guard (-100_000_000...100_000_000).contains(delta) else {
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
            // A write-off holds its units first, as an order does, and retries a shortage
            // while other holds stand on the shards (`ShardContention`).
            var contention = ShardContention()
            while true {
                let got = try await shards.gather(-delta, of: productID, in: Array(0..<product.stockShards))
                perShard = [Int](repeating: 0, count: product.stockShards)
                for hold in got.holds { perShard[hold.shard] = -hold.quantity }
                let taken = got.holds.reduce(0) { $0 + $1.quantity }
                if taken == -delta { break }
                releaseWriteOffHolds(productID, perShard)
                guard got.contended, let pause = contention.nextPause() else {
                    throw DomainError(
                        .insufficientStock, "cannot write off \(-delta) units of \(productID.uuidString.lowercased()): only \(taken) available",
                        subject: productID.uuidString.lowercased())
                }
                try await Task.sleep(for: pause)
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
                    PostgresStatement(
                        OrderQueries.insertInventoryEvent,
                        [.uuid(event.event.id), .text(event.aggregateID), .text(event.event.type), .text(event.event.structuredJSON())]),
                    OutboxQueries.notify,
                ]))
            } catch let error as PostgresError where error.code == .connectionLost {
                // The commit may have landed: as for an order (`OrderActor.submit`), held units
                // are kept, never given back — memory may show less stock than the database,
                // never more — and the shards are unpinned, to reload what the database has
                // when they are next activated.
                shardsChanged.forEach { shards.unpin(ShardKey(productID: productID, shard: $0)) }
                throw error
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
                shards.deliver(perShard[shard] > 0 ? .restocked(perShard[shard]) : .writtenOff(-perShard[shard]), to: key)
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
            shards.deliver(.releaseHold(-change), to: key)
            shards.unpin(key)
        }
    }
}
