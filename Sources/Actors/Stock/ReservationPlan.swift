import Foundation

/// Where an order takes a product's units from: start at shard `hash(order id) % shards`
/// (spreading orders over shards, the same for every retry of one order) and continue
/// through the next shards — the shard order `Reservation.StateMachine` walks, splitting the
/// quantity where a shard is short.
public enum ReservationPlan {
    /// The order in which `orderID` visits `shardCount` shards.
    public static func shardOrder(orderID: UUID, shardCount: Int) -> [Int] {
        guard shardCount > 0 else { return [] }
        let start = Int(stableHash(orderID) % UInt64(shardCount))
        return (0..<shardCount).map { (start + $0) % shardCount }
    }

    /// FNV-1a over the id's bytes: the same in every process (Swift's `hashValue` is seeded
    /// per process, so it cannot pick a shard).
    public static func stableHash(_ id: UUID) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        withUnsafeBytes(of: id.uuid) { bytes in
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
        }
        return hash
    }
}
