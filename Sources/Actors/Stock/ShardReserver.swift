import Foundation
import IntakeRuntime

/// Runs a `Reservation.StateMachine` against the shard actors: the thin I/O shell of the
/// reservation protocol, shared by orders and write-offs.
struct ShardReserver {
    let shards: ActorRegistry<StockShardActor>
    /// Reads shard rows back in order with this process's commits (`StockShard.resync`).
    let groupCommit: GroupCommit

    /// The commit's outcome was unknown: the holds were kept (not given back) and their shards
    /// unpinned to reload; the caller reloads its own state before its next decision.
    struct OutcomeUnknown: Error {
        var underlying: any Error
    }

    /// Reserves `lines`, commits with `commit` (which builds the write set from the holds), and
    /// returns the holds, confirmed on their shards as `confirmation(quantity, writer
    /// transaction)`. On a shortage the holds are returned and `shortage(productID, units
    /// that were available)` is thrown — once the short product's rows, read back, agree
    /// (another process may have added units this copy does not count); on a failed hold or
    /// commit, its error, after the holds are returned; on an unknown outcome, `OutcomeUnknown`.
    func reserve(
        _ lines: [Reservation.Line], confirmation: (_ quantity: Int, _ committedIn: Int?) -> StockShardActor.Message,
        shortage: (_ productID: UUID, _ available: Int) -> any Error,
        isolation: isolated (any Actor)? = #isolation, commit: ([Reservation.Hold]) async -> CommitOutcome
    ) async throws -> [Reservation.Hold] {
        var machine = Reservation.StateMachine(lines: lines)
        var action = machine.start()
        var failure: (any Error)?
        var committedIn: Int?
        var staleWrites = 0
        var shortagesReadBack: Set<UUID> = []
        while true {
            switch action {
            case .hold(let key, let quantity):
                do {
                    try shards.pin(key)
                } catch {
                    failure = error
                    action = machine.holdFailed()
                    continue
                }
                do {
                    let reply = try await shards.send(.hold(upTo: quantity), to: key)
                    if reply.taken == 0 { shards.unpin(key) }
                    action = machine.held(taken: reply.taken, othersHolding: reply.state.held > reply.taken)
                } catch {
                    shards.unpin(key)
                    failure = error
                    action = machine.holdFailed()
                }
            case .commit(let taken):
                switch await commit(taken) {
                case .committed(let transaction):
                    committedIn = transaction
                    action = machine.committed()
                case .failed(let error):
                    failure = error
                    action = machine.commitFailed()
                case .unknown(let error):
                    failure = error
                    action = machine.outcomeUnknown()
                }
            case .confirm(let holds):
                for hold in holds {
                    await shards.deliverNow(confirmation(hold.quantity, committedIn), to: hold.key)
                    shards.unpin(hold.key)
                }
                return holds
            case .returnAndRetry(let holds, let pause):
                giveBack(holds)
                try await Task.sleep(for: pause)
                action = machine.retryDue()
            case .returnAndRefuse(let holds, let productID):
                giveBack(holds)
                // Short by this copy: another process may have added units since it was read
                // (a restock, a cancellation). Once per product, the rows decide.
                if shortagesReadBack.insert(productID).inserted {
                    try await readBack(lines.filter { $0.productID == productID })
                    machine = Reservation.StateMachine(lines: lines)
                    action = machine.start()
                    continue
                }
                throw shortage(productID, holds.filter { $0.productID == productID }.reduce(0) { $0 + $1.quantity })
            case .returnAndFail(let holds):
                giveBack(holds)
                // The rows' checks refused the write: another process took units this copy
                // still counted (in one process the copy is exact and never over-counts, so
                // this never runs there). Read the rows back and reserve again.
                if let error = failure as? PostgresError, Self.provesStale(error) {
                    // Decided on the rows just read: a product they hold too few units of is
                    // a shortage (409), whatever this copy counted. Otherwise the units are
                    // there and another process keeps taking them first: reserve again, a
                    // bounded number of times, then answer "overloaded" (503, retry) — never
                    // the row check's error itself (hostile review, session 12: a 500 with
                    // two processes contending for the last units of 64-shard products).
                    let available = try await readBack(lines)
                    if let short = Self.shortProduct(lines, available: available) {
                        throw shortage(short, available[short] ?? 0)
                    }
                    guard staleWrites < Self.staleRetries else {
                        throw RuntimeError(code: .overloaded, message: "the stock of this order is contended by another process; try again")
                    }
                    staleWrites += 1
                    failure = nil
                    machine = Reservation.StateMachine(lines: lines)
                    action = machine.start()
                    continue
                }
                throw failure ?? RuntimeError(code: .shutDown, message: "a reservation failed without an error")
            case .keepAndReload(let holds):
                holds.forEach { shards.unpin($0.key) }
                throw OutcomeUnknown(underlying: failure ?? RuntimeError(code: .shutDown, message: "a commit's outcome is unknown"))
            }
        }
    }

    /// The first of `lines`' products whose rows hold fewer units than the order asks for it
    /// (`available`: units per product, over all its shards).
    static func shortProduct(_ lines: [Reservation.Line], available: [UUID: Int]) -> UUID? {
        var wanted: [UUID: Int] = [:]
        for line in lines { wanted[line.productID, default: 0] += line.quantity }
        return lines.lazy.map(\.productID).first { (available[$0] ?? 0) < (wanted[$0] ?? 0) }
    }

    /// Reservations whose write the rows refused as stale are tried again this many times.
    static let staleRetries = 3

    /// A write refused by a `stock_shards` check: this process's copy of a shard counted units
    /// another process had taken.
    static func provesStale(_ error: PostgresError) -> Bool {
        error.code == .checkViolation && ["stock_available_nonnegative", "stock_reserved_nonnegative"].contains(error.constraint ?? "")
    }

    /// Gives the active shards of `lines`' products their rows' committed figures, read
    /// through the writer so that each shard can tell which of this process's changes the
    /// read saw (`StockShard.resync`). Shards not active load their rows when they next
    /// activate.
    /// Returns the units available per product in the rows read (all their shards).
    @discardableResult
    private func readBack(_ lines: [Reservation.Line]) async throws -> [UUID: Int] {
        let keys = Set(lines.flatMap { line in line.shardOrder.map { ShardKey(productID: line.productID, shard: $0) } }).filter(shards.isActive)
        // Every shard that began a resync ends it (applied or abandoned) and is unpinned,
        // whatever fails: a resync left begun would keep its shard logging changes for good.
        var begun: [ShardKey] = []
        defer { begun.forEach(shards.unpin) }
        let transaction: Int
        var figures: [ShardKey: (available: Int, reserved: Int)] = [:]
        var totals: [UUID: Int] = [:]
        do {
            for key in keys {
                try shards.pin(key)
                begun.append(key)
                await shards.deliverNow(.beginResync, to: key)
            }
            let receipt = try await groupCommit.commit(WriteSet([
                PostgresStatement(
                    "SELECT product_id, shard, available, reserved FROM stock_shards WHERE product_id = ANY($1::uuid[])",
                    [.uuidArray(Array(Set(lines.map(\.productID))))]),
            ], readsAfterWrites: true))
            transaction = receipt.transaction
            for row in receipt.rows.first.map(Array.init) ?? [] {
                let key = ShardKey(productID: try row.decode("product_id"), shard: Int(try row.decode("shard", as: Int32.self)))
                let figure = (available: Int(try row.decode("available", as: Int32.self)), reserved: Int(try row.decode("reserved", as: Int32.self)))
                figures[key] = figure
                totals[key.productID, default: 0] += figure.available
            }
        } catch {
            for key in begun { await shards.deliverNow(.abandonResync, to: key) }
            throw error
        }
        for key in begun {
            if let row = figures[key] {
                await shards.deliverNow(.resync(available: row.available, reserved: row.reserved, readIn: transaction), to: key)
            } else {
                await shards.deliverNow(.abandonResync, to: key)
            }
        }
        return totals
    }

    private func giveBack(_ holds: [Reservation.Hold]) {
        for hold in holds {
            shards.deliver(.releaseHold(hold.quantity), to: hold.key)
            shards.unpin(hold.key)
        }
    }
}
