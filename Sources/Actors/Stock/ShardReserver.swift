import Foundation
import IntakeRuntime

/// Runs a `Reservation.StateMachine` against the shard actors: the thin I/O shell of the
/// reservation protocol, shared by orders and write-offs.
struct ShardReserver {
    let shards: ActorRegistry<StockShardActor>

    /// The commit's outcome was unknown: the holds were kept (not given back) and their shards
    /// unpinned to reload; the caller reloads its own state before its next decision.
    struct OutcomeUnknown: Error {
        var underlying: any Error
    }

    /// Reserves `lines`, commits with `commit` (which builds the write set from the holds), and
    /// returns the holds, confirmed on their shards as `confirmation(quantity)`. On a shortage
    /// the holds are returned and `shortage(productID, units that were available)` is thrown; on a failed hold or commit,
    /// its error, after the holds are returned; on an unknown outcome, `OutcomeUnknown`.
    func reserve(
        _ lines: [Reservation.Line], confirmation: (Int) -> StockShardActor.Message, shortage: (_ productID: UUID, _ available: Int) -> any Error,
        isolation: isolated (any Actor)? = #isolation, commit: ([Reservation.Hold]) async -> CommitOutcome
    ) async throws -> [Reservation.Hold] {
        var machine = Reservation.StateMachine(lines: lines)
        var action = machine.start()
        var failure: (any Error)?
        var staleWrites = 0
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
                case .committed:
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
                    await shards.deliverNow(confirmation(hold.quantity), to: hold.key)
                    shards.unpin(hold.key)
                }
                return holds
            case .returnAndRetry(let holds, let pause):
                giveBack(holds)
                try await Task.sleep(for: pause)
                action = machine.retryDue()
            case .returnAndRefuse(let holds, let productID):
                giveBack(holds)
                throw shortage(productID, holds.filter { $0.productID == productID }.reduce(0) { $0 + $1.quantity })
            case .returnAndFail(let holds):
                giveBack(holds)
                // The rows' checks refused the write: another process took units this copy
                // still counted (in one process the copy is exact and never over-counts, so
                // this never runs there). Read the rows back and reserve again. A shortage is
                // not read back: in one process that would count a committed change whose
                // message is still on its way twice, and break the copy's exactness.
                if let error = failure as? PostgresError, Self.provesStale(error), staleWrites < Self.staleRetries {
                    staleWrites += 1
                    failure = nil
                    try await readBack(Set(lines.map(\.productID)))
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

    /// Reservations whose write the rows refused as stale are tried again this many times.
    static let staleRetries = 3

    /// A write refused by a `stock_shards` check: this process's copy of a shard counted units
    /// another process had taken.
    static func provesStale(_ error: PostgresError) -> Bool {
        error.code == .checkViolation && ["stock_available_nonnegative", "stock_reserved_nonnegative"].contains(error.constraint ?? "")
    }

    /// Gives the active shards of `products` their rows' committed figures (shards not
    /// active load their rows when they next activate).
    private func readBack(_ products: some Collection<UUID>) async throws {
        let rows = try await shards.context.db.query(
            "SELECT product_id, shard, available, reserved FROM stock_shards WHERE product_id = ANY($1::uuid[])",
            [.array(products.map { .uuid($0) })])
        for row in rows {
            let key = ShardKey(productID: try row.decode("product_id"), shard: Int(try row.decode("shard", as: Int32.self)))
            guard shards.isActive(key) else { continue }
            await shards.deliverNow(.resync(available: Int(try row.decode("available", as: Int32.self)), reserved: Int(try row.decode("reserved", as: Int32.self))), to: key)
        }
    }

    private func giveBack(_ holds: [Reservation.Hold]) {
        for hold in holds {
            shards.deliver(.releaseHold(hold.quantity), to: hold.key)
            shards.unpin(hold.key)
        }
    }
}
