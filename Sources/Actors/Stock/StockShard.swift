/// One shard of a product's stock, as its actor holds it in memory.
///
/// Units are `available` (anyone may reserve them), `held` (tentatively taken by an order
/// whose transaction is in flight) or `reserved` (taken by a committed PENDING or PAID
/// order). A hold becomes a reservation when the order commits, or goes back to
/// `available` when it fails. `available + held + reserved` is the shard's stock on hand;
/// only restocks and shipping change it. No count ever goes negative.
public struct StockShard: Sendable, Hashable {
    public private(set) var available: Int
    public private(set) var held: Int
    public private(set) var reserved: Int

    public init(available: Int, reserved: Int = 0) {
        precondition(available >= 0 && reserved >= 0, "stock is never negative")
        self.available = available
        self.held = 0
        self.reserved = reserved
    }

    public var onHand: Int { available + held + reserved }

    /// Holds up to `quantity` units; returns how many it could (0...quantity).
    public mutating func hold(upTo quantity: Int) -> Int {
        let taken = min(max(quantity, 0), available)
        available -= taken
        held += taken
        return taken
    }

    /// The order's transaction committed: its held units are reserved now.
    public mutating func confirm(_ quantity: Int) {
        let count = min(quantity, held)
        held -= count
        reserved += count
    }

    /// The order's transaction failed (or another item was short): the hold is returned.
    public mutating func releaseHold(_ quantity: Int) {
        let count = min(quantity, held)
        held -= count
        available += count
    }

    /// A reserved order was canceled or timed out: its units are available again.
    public mutating func release(_ quantity: Int) {
        let count = min(quantity, reserved)
        reserved -= count
        available += count
    }

    /// A reserved order shipped: its units leave the warehouse.
    public mutating func consume(_ quantity: Int) {
        reserved -= min(quantity, reserved)
    }

    /// A write-off of held units committed: they leave the shard.
    public mutating func writeOffHeld(_ quantity: Int) {
        held -= min(quantity, held)
    }

    /// Takes the shard's committed figures from its row, keeping the holds in flight: another
    /// process on the same database changed the row (its orders, restocks, write-offs), so
    /// this copy was stale. A hold whose commit landed before the row was read but whose
    /// confirmation is still queued is counted twice until the next resync (an
    /// under-estimate: a refused order resyncs again), never an over-estimate the row's
    /// checks would not catch.
    public mutating func resync(available rowAvailable: Int, reserved rowReserved: Int) {
        available = max(0, rowAvailable - held)
        reserved = max(0, rowReserved)
    }

    /// Adds (or, negative, writes off) available units; throws `insufficientStock` when a
    /// write-off would take `available` below zero.
    public mutating func restock(_ delta: Int) throws(DomainError) {
        guard available + delta >= 0 else {
            throw DomainError(.insufficientStock, "cannot write off \(-delta) units: only \(available) available")
        }
        available += delta
    }
}
