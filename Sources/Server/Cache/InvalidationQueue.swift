/// The invalidations of concurrent changes, sent together with each key once.
///
/// A change queues the keys it made stale once it has committed, and waits. The first change
/// to find nothing being sent becomes the sender: it takes every key queued so far and every
/// change waiting on them, gives each key one new version, answers those changes, and takes
/// the next lot until none is left. One new version per key serves every change of the lot:
/// each committed before it queued, so before the version was set — which is all
/// `ReadThroughCache`'s versions need. Under load, orders for the same products (each makes
/// its product's entry stale) then cost one `SET` per product per lot instead of one per
/// order. Pure state, driven by `ReadThroughCache`; tested without I/O.
struct InvalidationQueue<Waiter> {
    struct Lot {
        var keys: Set<String>
        var waiters: [Waiter]
    }

    private var keys = Set<String>()
    private var waiters: [Waiter] = []
    private var sending = false

    /// Queues `keys` for `waiter`; true when the caller is to become the sender.
    mutating func enqueue(_ keys: some Sequence<String>, for waiter: Waiter) -> Bool {
        self.keys.formUnion(keys)
        waiters.append(waiter)
        if sending { return false }
        sending = true
        return true
    }

    /// The sender's next lot: everything queued since the last one; nil when nothing is, and
    /// the sender then stops (the next change to queue becomes the sender).
    mutating func nextLot() -> Lot? {
        guard !waiters.isEmpty else {
            sending = false
            return nil
        }
        defer {
            keys = []
            waiters = []
        }
        return Lot(keys: keys, waiters: waiters)
    }
}
