import Foundation

extension InventoryUpdates {
    /// Which products owe an `inventory.updated` event, and whether a flush is scheduled: the
    /// coalescing, without I/O. A product changed any number of times between two flushes
    /// gets one event, carrying the level at the flush (API.md: "may be coalesced, the last
    /// one per product always wins") and the trace of the first change of its window.
    struct StateMachine: Sendable {
        /// Products changed since the last flush began, each with the traceparent of its first
        /// change (nil when that change was not traced).
        private(set) var owed: [UUID: String?] = [:]
        /// A flush is scheduled or running; the next change need not schedule one.
        private(set) var flushScheduled = false

        /// `products` changed (their transaction committed). True: schedule a flush.
        mutating func changed(_ products: some Sequence<UUID>, traceparent: String?) -> Bool {
            for product in products where owed[product] == nil {
                owed[product] = .some(traceparent)
            }
            return schedule()
        }

        /// The flush's time came: the products it must announce (empty: nothing owed).
        /// Changes from now on are owed by the next flush.
        mutating func flushDue() -> [UUID: String?] {
            let due = owed
            owed = [:]
            return due
        }

        /// The flush committed. True: changes came while it ran; schedule the next.
        mutating func flushSucceeded() -> Bool {
            flushScheduled = false
            return schedule()
        }

        /// The flush failed: its products are owed again, with the traceparents of their first
        /// changes (earlier than any change since). True: schedule another.
        mutating func flushFailed(_ products: [UUID: String?]) -> Bool {
            for (product, traceparent) in products {
                owed[product] = .some(traceparent)
            }
            flushScheduled = false
            return schedule()
        }

        private mutating func schedule() -> Bool {
            guard !owed.isEmpty, !flushScheduled else { return false }
            flushScheduled = true
            return true
        }
    }
}
