extension ClientSideCache {
    /// What the cache holds and whether it may answer, as a value: every decision of the
    /// cache is made here, under one lock, on the state as it is when the call arrives.
    ///
    /// The rule that makes it safe (Redis's client-side caching, "the race" in its docs): a
    /// value read from Redis is kept only if no invalidation of its key, and no loss of the
    /// invalidation connection, came between the start of the read and its end. A read starts
    /// by placing a `filling` marker with a fresh ticket; every invalidation removes the marker
    /// along with any value; the read's result is stored only over its own marker.
    struct StateMachine {
        enum Entry: Equatable {
            case value([UInt8]?, readAt: ContinuousClock.Instant)
            case filling(ticket: UInt64)
        }

        /// A read to make from Redis; `fill` with its result.
        struct Ticket: Equatable, Sendable {
            var key: String
            var id: UInt64
        }

        enum Lookup: Equatable {
            /// The value Redis holds (nil: no such key), as last read, with no invalidation since.
            case hit([UInt8]?)
            /// Read it from Redis, then `fill`.
            case miss(Ticket)
            /// Invalidations are not being received: read from Redis and keep nothing.
            case bypass
        }

        let capacity: Int
        /// A value is answered from memory at most this long after it was read: the bound on
        /// what Redis does not announce (`SWAPDB`, a change during a stall shorter than the
        /// listener's `PING` limit).
        let maximumAge: Duration
        /// Only keys under these are announced (`BCAST PREFIX`): any other is never kept.
        let prefixes: [String]
        private(set) var tracking = false
        private(set) var entries: [String: Entry] = [:]
        private var lastTicket: UInt64 = 0

        init(capacity: Int, prefixes: [String], maximumAge: Duration = .seconds(1)) {
            self.capacity = capacity
            self.prefixes = prefixes
            self.maximumAge = maximumAge
        }

        mutating func lookup(_ key: String, now: ContinuousClock.Instant = .now) -> Lookup {
            guard tracking, prefixes.contains(where: { key.hasPrefix($0) }) else { return .bypass }
            if case .value(let value, let readAt) = entries[key], now - readAt < maximumAge { return .hit(value) }
            // A read already under way (or one that failed and never filled) is superseded:
            // its result is no longer stored, this one's is.
            if entries[key] == nil, entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            lastTicket += 1
            entries[key] = .filling(ticket: lastTicket)
            return .miss(Ticket(key: key, id: lastTicket))
        }

        /// Stores a read's result if nothing invalidated its key since the read began; returns
        /// whether it was stored.
        @discardableResult
        mutating func fill(_ ticket: Ticket, with value: [UInt8]?, now: ContinuousClock.Instant = .now) -> Bool {
            guard tracking, entries[ticket.key] == .filling(ticket: ticket.id) else { return false }
            entries[ticket.key] = .value(value, readAt: now)
            return true
        }

        mutating func invalidate(_ keys: some Sequence<String>) {
            for key in keys { entries[key] = nil }
        }

        /// Invalidations flow (again): start empty, since changes made while they did not
        /// flow were never announced.
        mutating func trackingStarted() {
            entries.removeAll(keepingCapacity: true)
            tracking = true
        }

        /// The invalidation connection is gone: nothing kept can be trusted any more.
        mutating func trackingLost() {
            entries.removeAll(keepingCapacity: true)
            tracking = false
        }

        /// Redis flushed the database (an invalidation without keys).
        mutating func invalidateAll() {
            entries.removeAll(keepingCapacity: true)
        }
    }
}
