import Foundation
import IntakeRuntime
import Tracing

/// Identifies one shard of one product's stock.
public struct ShardKey: Hashable, Sendable, CustomStringConvertible {
    public var productID: UUID
    public var shard: Int

    public init(productID: UUID, shard: Int) {
        self.productID = productID
        self.shard = shard
    }

    public var description: String { "\(productID.lowercasedString)#\(shard)" }
}

/// One stock shard in memory. It answers holds at memory speed: a hold takes units out of
/// `available` at once, tentatively, and becomes a reservation when the order's transaction
/// commits (`confirm`) or returns when it fails (`releaseHold`). The shard's row is written by
/// the orders' own write sets; this actor never writes, so its messages never wait on I/O
/// once it is active.
public actor StockShardActor: VirtualActor {
    public enum Message: Sendable {
        case hold(upTo: Int)
        case confirm(Int)
        case releaseHold(Int)
        case release(Int)
        case consume(Int)
        /// A committed restock added these units.
        case restocked(Int)
        /// A committed write-off took these held units.
        case writtenOff(Int)
        /// The shard's row as read now (another process changed it): see `StockShard.resync`.
        case resync(available: Int, reserved: Int)
        case snapshot
    }

    public struct Reply: Sendable {
        /// Units a hold took (0 for other messages).
        public var taken: Int
        public var state: StockShard
    }

    public struct Context: Sendable {
        public var db: PostgresClient
        public init(db: PostgresClient) { self.db = db }
    }

    private var stock: StockShard

    /// Every message is a change of counters in memory: `handle` never suspends.
    public static var handlesWithoutSuspending: Bool { true }

    init(stock: StockShard) {
        self.stock = stock
    }

    public static func activate(key: ShardKey, context: Context) async throws -> StockShardActor {
        let rows = try await context.db.query(OrderQueries.selectShard, [.uuid(key.productID), .int32(Int32(key.shard))])
        guard let row = rows.first else {
            throw DomainError(.unknownProduct, "no stock shard \(key)", subject: key.productID.lowercasedString)
        }
        return StockShardActor(stock: StockShard(available: try row.decode("available"), reserved: try row.decode("reserved")))
    }

    public func handle(_ message: Message) async throws -> Reply {
        var taken = 0
        switch message {
        case .hold(let quantity):
            // The hold is what an order waits for: traced (a child of the order's span).
            taken = withSpan("stock.hold") { span in
                span.attributes["intake.quantity"] = quantity
                return stock.hold(upTo: quantity)
            }
        case .confirm(let quantity): stock.confirm(quantity)
        case .releaseHold(let quantity): stock.releaseHold(quantity)
        case .release(let quantity): stock.release(quantity)
        case .consume(let quantity): stock.consume(quantity)
        case .restocked(let quantity): try stock.restock(quantity)
        case .writtenOff(let quantity): stock.writeOffHeld(quantity)
        case .resync(let available, let reserved): stock.resync(available: available, reserved: reserved)
        case .snapshot: break
        }
        return Reply(taken: taken, state: stock)
    }
}

extension ActorRegistry where A == StockShardActor {
    /// Pins `keys` and makes sure each shard is loaded before a write that the shards will
    /// apply once it commits: a shard loaded after the commit would already contain it.
    func loadAndPin(_ keys: [ShardKey]) async throws {
        var pinned: [ShardKey] = []
        do {
            for key in keys {
                try pin(key)
                pinned.append(key)
                _ = try await send(.snapshot, to: key)
            }
        } catch {
            pinned.forEach(unpin)
            throw error
        }
    }
}
