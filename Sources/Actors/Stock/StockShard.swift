/// One shard of a product's stock, as its actor holds it in memory.
///
/// Units are `available` (anyone may reserve them), `held` (tentatively taken by an order
/// whose transaction is in flight) or `reserved` (taken by a committed PENDING or PAID
/// order). A hold becomes a reservation when the order commits, or goes back to
/// `available` when it fails. `available + held + reserved` is the shard's stock on hand;
/// only restocks and shipping change it. No count ever goes negative.
///
/// Changes committed by this process carry the writer transaction that committed them
/// (`GroupCommit.Receipt.transaction`, nil when unknown): after a `resync` read the row in
/// writer transaction R, a change committed in R or before is already in the figures and
/// arrives only to settle its hold.
public struct StockShard: Sendable, Hashable {
    /// Units anyone may reserve. Never negative; see `availableBalance`.
    public var available: Int { max(0, availableBalance) }
    /// `available`, except just after a `resync`, where it may be below zero by the units of
    /// holds whose commits the row already counts and whose confirmations are on their way
    /// (each adds its units back when it arrives).
    private var availableBalance: Int
    public private(set) var held: Int
    public private(set) var reserved: Int

    public init(available: Int, reserved: Int = 0) {
        precondition(available >= 0 && reserved >= 0, "stock is never negative")
        self.availableBalance = available
        self.held = 0
        self.reserved = reserved
    }

    public var onHand: Int { available + held + reserved }

    /// Holds up to `quantity` units; returns how many it could (0...quantity).
    public mutating func hold(upTo quantity: Int) -> Int {
        let taken = min(max(quantity, 0), available)
        availableBalance -= taken
        held += taken
        return taken
    }

    /// The order's transaction committed (in writer transaction `transaction`): its held
    /// units are reserved now.
    public mutating func confirm(_ quantity: Int, committedIn transaction: Int? = nil) {
        settleHold(quantity, committedIn: transaction, intoReserved: true)
    }

    /// The order's transaction failed (or another item was short): the hold is returned.
    public mutating func releaseHold(_ quantity: Int) {
        let count = min(quantity, held)
        held -= count
        availableBalance += count
    }

    /// A reserved order was canceled or timed out: its units are available again.
    public mutating func release(_ quantity: Int, committedIn transaction: Int? = nil) {
        guard !isInRow(transaction) else { return }
        let count = min(quantity, reserved)
        reserved -= count
        availableBalance += count
        record(transaction, available: count, reserved: -count)
    }

    /// A reserved order shipped: its units leave the warehouse.
    public mutating func consume(_ quantity: Int, committedIn transaction: Int? = nil) {
        guard !isInRow(transaction) else { return }
        let count = min(quantity, reserved)
        reserved -= count
        record(transaction, available: 0, reserved: -count)
    }

    /// A write-off of held units committed: they leave the shard.
    public mutating func writeOffHeld(_ quantity: Int, committedIn transaction: Int? = nil) {
        settleHold(quantity, committedIn: transaction, intoReserved: false)
    }

    /// A hold's commit landed: its units leave `held`, into `reserved` or out of the shard.
    private mutating func settleHold(_ quantity: Int, committedIn transaction: Int?, intoReserved: Bool) {
        let count = min(quantity, held)
        held -= count
        if isInRow(transaction) {
            availableBalance += count  // the resync took them from the row's figure and from `held` both
        } else {
            if intoReserved { reserved += count }
            record(transaction, available: -count, reserved: intoReserved ? count : 0)
        }
    }

    /// Adds (or, negative, writes off) available units; throws `insufficientStock` when a
    /// write-off would take `available` below zero.
    public mutating func restock(_ delta: Int, committedIn transaction: Int? = nil) throws(DomainError) {
        guard !isInRow(transaction) else { return }
        guard delta >= 0 || availableBalance + delta >= 0 else {
            throw DomainError(.insufficientStock, "cannot write off \(-delta) units: only \(available) available")
        }
        availableBalance += delta
        record(transaction, available: delta, reserved: 0)
    }

    // MARK: Resync

    /// A committed change applied while a resync was pending: its effect on the row's
    /// figures, added back over a row read before it committed.
    struct CommittedChange: Sendable, Hashable {
        /// The writer transaction that committed it (nil: unknown, taken as after any read).
        var transaction: Int?
        var available: Int
        var reserved: Int
    }

    /// The writer transaction in which the row was last read back (`resync`): every change
    /// this process committed in it or before is in the figures.
    public private(set) var readThrough: Int?
    /// Resyncs begun and not yet applied or abandoned.
    private var pendingResyncs = 0
    private var changesWhileResyncing: [CommittedChange] = []

    private func isInRow(_ transaction: Int?) -> Bool {
        guard let transaction, let readThrough else { return false }
        return transaction <= readThrough
    }

    private mutating func record(_ transaction: Int?, available: Int, reserved: Int) {
        if pendingResyncs > 0 {
            changesWhileResyncing.append(CommittedChange(transaction: transaction, available: available, reserved: reserved))
        }
    }

    /// The row is about to be read back (through the writer, whose transaction numbers order
    /// the read against this process's commits): committed changes applied from now on are
    /// kept until `resync`, which adds back those committed after its read.
    public mutating func beginResync() {
        pendingResyncs += 1
    }

    /// A begun resync's read failed: nothing to apply.
    public mutating func abandonResync() {
        pendingResyncs = max(0, pendingResyncs - 1)
        if pendingResyncs == 0 { changesWhileResyncing.removeAll() }
    }

    /// Takes the shard's committed figures from its row, read in writer transaction
    /// `transaction` after `beginResync`: another process on the same database changed the
    /// row (its orders, restocks, cancellations), so this copy was stale. Exact against this
    /// process's own changes, whichever side of the read they committed on: one committed
    /// after the read and applied already is added back; one committed in or before the read
    /// and still on its way is recognised by its transaction when it arrives. Holds in flight
    /// stay held. A read no newer than the last one applied is ignored, as is one without a
    /// `beginResync` (the copy was loaded afresh since).
    public mutating func resync(available rowAvailable: Int, reserved rowReserved: Int, readIn transaction: Int) {
        guard pendingResyncs > 0 else { return }
        defer { abandonResync() }
        if let readThrough, transaction <= readThrough { return }
        let later = changesWhileResyncing.filter { change in change.transaction.map { $0 > transaction } ?? true }
        availableBalance = rowAvailable + later.reduce(0) { $0 + $1.available } - held
        reserved = max(0, rowReserved + later.reduce(0) { $0 + $1.reserved })
        readThrough = transaction
    }
}
