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
    /// Changes committed by this process name the writer transaction that committed them
    /// (`committedIn`, nil when unknown): see `StockShard`.
    public enum Message: Sendable {
        case hold(upTo: Int)
        case confirm(Int, committedIn: Int?)
        case releaseHold(Int)
        case release(Int, committedIn: Int?)
        case consume(Int, committedIn: Int?)
        /// A committed restock added these units.
        case restocked(Int, committedIn: Int?)
        /// A committed write-off took these held units.
        case writtenOff(Int, committedIn: Int?)
        /// The shard's row is about to be read back: see `StockShard.beginResync`.
        case beginResync
        /// The shard's row as read in writer transaction `readIn`: see `StockShard.resync`.
        case resync(available: Int, reserved: Int, readIn: Int)
        /// The read-back begun failed.
        case abandonResync
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
            taken = TraceContext.traced("stock.hold") { span in
                span?.attributes["intake.quantity"] = quantity
                return stock.hold(upTo: quantity)
            }
        case .confirm(let quantity, let transaction): stock.confirm(quantity, committedIn: transaction)
        case .releaseHold(let quantity): stock.releaseHold(quantity)
        case .release(let quantity, let transaction): stock.release(quantity, committedIn: transaction)
        case .consume(let quantity, let transaction): stock.consume(quantity, committedIn: transaction)
        case .restocked(let quantity, let transaction): try stock.restock(quantity, committedIn: transaction)
        case .writtenOff(let quantity, let transaction): stock.writeOffHeld(quantity, committedIn: transaction)
        case .beginResync: stock.beginResync()
        case .resync(let available, let reserved, let transaction): stock.resync(available: available, reserved: reserved, readIn: transaction)
        case .abandonResync: stock.abandonResync()
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
