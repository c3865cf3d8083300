import Foundation

/// The reservation protocol, one home for orders and write-offs alike: hold each line's units
/// on its shards (splitting a line over the next shards where one is short), commit the write
/// set, then confirm the holds — or give them back, or, when the commit's outcome is unknown,
/// keep them and let the shards reload. Its logic is this value-type state machine: events in
/// (`held`, `committed`, ...), actions out (`.hold`, `.commit`, ...), no I/O; `ShardReserver`
/// runs the actions against the shard actors and the writer.
enum Reservation {
    /// One product's units to reserve, and the order in which to visit its shards
    /// (`ReservationPlan.shardOrder` for an order).
    struct Line: Sendable, Hashable {
        var productID: UUID
        var quantity: Int
        var shardOrder: [Int]
    }

    /// Units held on one shard.
    struct Hold: Sendable, Hashable {
        var productID: UUID
        var shard: Int
        var quantity: Int
        var key: ShardKey { ShardKey(productID: productID, shard: shard) }
    }

    struct StateMachine: Sendable {
        enum State: Sendable, Hashable {
            /// Nothing asked yet. Can transition to: holding, committing (no lines).
            case idle
            /// Waiting for the hold of line `line`'s shard at position `position` of its
            /// shard order, `remaining` units still wanted for the line. Can transition to:
            /// holding, committing, backingOff, finished.
            case holding(line: Int, position: Int, remaining: Int, contended: Bool, taken: [Hold])
            /// Every hold given back after a shortage that other holds stood in; waiting to
            /// try again. Can transition to: holding.
            case backingOff
            /// Every line held; the write set is being committed. Can transition to: finished.
            case committing(taken: [Hold])
            /// Confirmed, given back, refused or kept for a reload. Final.
            case finished
        }

        /// What the caller must do next.
        enum Action: Sendable, Hashable {
            /// Pin `key` and hold up to `upTo` units there; answer with `held`.
            case hold(ShardKey, upTo: Int)
            /// Every line is held: commit the write set built from `taken`; answer with
            /// `committed`, `commitFailed` or `outcomeUnknown`.
            case commit(taken: [Hold])
            /// Apply each hold as committed on its shard, and unpin.
            case confirm([Hold])
            /// Give each hold back and unpin; then pause, and answer with `retryDue`.
            case returnAndRetry([Hold], after: Duration)
            /// Give each hold back and unpin; `productID` is short: refuse.
            case returnAndRefuse([Hold], shortOf: UUID)
            /// Give each hold back and unpin; the step's own error stands.
            case returnAndFail([Hold])
            /// The commit may or may not have landed: give nothing back (memory never shows
            /// more than the database may have), unpin so that the shards reload when next
            /// activated; the caller reloads its own state too.
            case keepAndReload([Hold])
        }

        private(set) var state: State = .idle
        let lines: [Line]
        private var contention: ShardContention

        init(lines: [Line], contention: ShardContention = ShardContention()) {
            self.lines = lines
            self.contention = contention
        }

        mutating func start() -> Action {
            precondition(state == .idle, "a reservation starts once")
            return firstHold()
        }

        /// The answer to `.hold`: `taken` units were held there, and `othersHolding` says
        /// whether units held by other callers stood on that shard.
        mutating func held(taken: Int, othersHolding: Bool) -> Action {
            guard case .holding(let index, let position, var remaining, var contended, var holds) = state else {
                preconditionFailure("held(taken:) without a hold in flight: \(state)")
            }
            let line = lines[index]
            if taken > 0 {
                holds.append(Hold(productID: line.productID, shard: line.shardOrder[position], quantity: taken))
                remaining -= taken
            }
            if remaining > 0, othersHolding { contended = true }
            if remaining == 0 {
                return nextLine(after: index, taken: holds)
            }
            let next = position + 1
            if next < line.shardOrder.count {
                state = .holding(line: index, position: next, remaining: remaining, contended: contended, taken: holds)
                return .hold(ShardKey(productID: line.productID, shard: line.shardOrder[next]), upTo: remaining)
            }
            // Every shard of the line visited, and short.
            if contended, let pause = contention.nextPause() {
                state = .backingOff
                return .returnAndRetry(holds, after: pause)
            }
            state = .finished
            return .returnAndRefuse(holds, shortOf: line.productID)
        }

        /// A hold failed (the shard could not be reached, or its mailbox was full).
        mutating func holdFailed() -> Action {
            guard case .holding(_, _, _, _, let holds) = state else { preconditionFailure("holdFailed() without a hold in flight: \(state)") }
            state = .finished
            return .returnAndFail(holds)
        }

        /// The pause after a contended shortage is over.
        mutating func retryDue() -> Action {
            guard state == .backingOff else { preconditionFailure("retryDue() while \(state)") }
            return firstHold()
        }

        mutating func committed() -> Action {
            guard case .committing(let holds) = state else { preconditionFailure("committed() without a commit: \(state)") }
            state = .finished
            return .confirm(holds)
        }

        /// The write set failed and nothing of it committed.
        mutating func commitFailed() -> Action {
            guard case .committing(let holds) = state else { preconditionFailure("commitFailed() without a commit: \(state)") }
            state = .finished
            return .returnAndFail(holds)
        }

        /// The commit may or may not have landed (its connection broke and the database could
        /// not be asked in time).
        mutating func outcomeUnknown() -> Action {
            guard case .committing(let holds) = state else { preconditionFailure("outcomeUnknown() without a commit: \(state)") }
            state = .finished
            return .keepAndReload(holds)
        }

        private mutating func firstHold() -> Action {
            guard let first = lines.first else {
                state = .committing(taken: [])
                return .commit(taken: [])
            }
            return holdLine(0, taken: [], first: first)
        }

        private mutating func nextLine(after index: Int, taken: [Hold]) -> Action {
            guard index + 1 < lines.count else {
                state = .committing(taken: taken)
                return .commit(taken: taken)
            }
            return holdLine(index + 1, taken: taken, first: lines[index + 1])
        }

        private mutating func holdLine(_ index: Int, taken: [Hold], first line: Line) -> Action {
            guard let shard = line.shardOrder.first, line.quantity > 0 else {
                // A line with nothing to hold, or no shard to hold it on.
                if line.quantity <= 0 { return nextLine(after: index, taken: taken) }
                state = .finished
                return .returnAndRefuse(taken, shortOf: line.productID)
            }
            state = .holding(line: index, position: 0, remaining: line.quantity, contended: false, taken: taken)
            return .hold(ShardKey(productID: line.productID, shard: shard), upTo: line.quantity)
        }
    }
}
