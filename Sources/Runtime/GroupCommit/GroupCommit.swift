import Instrumentation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Tracing

/// Commits many callers' write sets in one transaction.
///
/// A single writer takes every write set that arrived while the previous transaction was in
/// flight and sends them as one libpq pipeline (one round trip, one transaction), then
/// resumes every waiter with its own statements' results. Under load, batches grow and each
/// commit's fsync is shared; alone, a write set costs one commit as before.
///
/// A batch that fails on a write set's SQL is retried without it, so one bad write set fails
/// alone. When the connection breaks mid-commit the outcome is unknown, and every waiter of
/// that batch gets `connectionLost`: callers must treat that as "maybe committed" (idempotency
/// keys make the retry safe). Run it as a `Service`; on graceful shutdown it refuses new
/// write sets and commits those already queued.
public final class GroupCommit: Service, Sendable {
    private struct State: ~Copyable {
        var machine: StateMachine
        var waiting: [StateMachine.ID: Waiter] = [:]
        var nextID = 0
    }

    struct Waiter {
        var writeSet: WriteSet
        var continuation: CheckedContinuation<Committed, any Error>
        /// The submitter's span: the batch span links to it.
        var context: ServiceContext
    }

    /// A write set's rows and the span of the batch that committed it.
    struct Committed {
        var receipt: Receipt
        var batch: ServiceContext
    }

    /// A committed write set: the rows of each of its statements, in order, and the writer
    /// transaction that committed it. Transactions are numbered 1, 2, … in the order they
    /// commit (one writer, one transaction at a time): a change committed in transaction n is
    /// visible to a `readsAfterWrites` write set committed in n or later, and to none before.
    public struct Receipt: Sendable {
        public var rows: [PostgresRows]
        public var transaction: Int
    }

    /// A batched template whose only effect is a NOTIFY that a component of this process
    /// receives (the outbox relay's wake-up). While `isReceivedHere()` says so, a batch leaves
    /// its rows out and calls `deliver()` once it has committed: no Postgres notification, no
    /// listening backend woken, no round trip back through a listener connection. Asked
    /// again once the batch has committed: if the receiver stopped receiving here meanwhile
    /// (another process's relay took over), the notification goes through Postgres after all.
    public struct LocalNotification: Sendable {
        public var template: BatchedStatement
        public var isReceivedHere: @Sendable () -> Bool
        public var deliver: @Sendable () -> Void

        public init(template: BatchedStatement, isReceivedHere: @escaping @Sendable () -> Bool, deliver: @escaping @Sendable () -> Void) {
            self.template = template
            self.isReceivedHere = isReceivedHere
            self.deliver = deliver
        }
    }

    private let client: PostgresClient
    private let logger: Logger
    private let state: Mutex<State>
    private let localNotifications = Mutex<[LocalNotification]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let batchSize = Recorder(label: "intake_group_commit_batch_write_sets")
    private let commitLatency = Metrics.Timer(label: "intake_group_commit_seconds")
    private let transactions = Counter(label: "intake_group_commit_transactions_total")
    private let conflictRetries = Counter(label: "intake_group_commit_conflict_retries_total")
    private let transactionCount = Mutex(0)
    /// Times a batch that hit a deadlock or serialization failure is sent again before its
    /// waiters get the error.
    static let maxConflictRetries = 5

    public init(
        client: PostgresClient, maxWriteSetsPerBatch: Int = 2000, maxStatementsPerBatch: Int = 20_000,
        maxPending: Int = 50_000, logger: Logger = Logger(label: "intake.group-commit")
    ) {
        self.client = client
        self.logger = logger
        self.state = Mutex(State(machine: StateMachine(
            maxWriteSets: maxWriteSetsPerBatch, maxStatements: maxStatementsPerBatch, maxPending: maxPending)))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Write sets waiting for a batch (not counting the batch in flight).
    public var queuedWriteSets: Int { state.withLock { $0.machine.pending.count } }

    /// Transactions committed (or attempted) so far.
    public var transactionsCommitted: Int { transactionCount.withLock { $0 } }

    /// Delivers `notification`'s template in memory whenever its receiver is in this process.
    public func deliverLocally(_ notification: LocalNotification) {
        localNotifications.withLock { $0.append(notification) }
    }

    /// Commits `writeSet` (in a batch with others) and returns the rows of each of its
    /// statements, in order. Traced as `group_commit.wait` (a child of the caller's span),
    /// linked to the `group_commit.batch` span that committed it.
    @discardableResult
    public func submit(_ writeSet: WriteSet) async throws -> [PostgresRows] {
        try await commit(writeSet).rows
    }

    /// Like `submit`, also naming the writer transaction that committed `writeSet` (an empty
    /// one commits nothing: it names the last transaction sent).
    public func commit(_ writeSet: WriteSet) async throws -> Receipt {
        if writeSet.isEmpty { return Receipt(rows: [], transaction: transactionsCommitted) }
        return try await TraceContext.traced("group_commit.wait") { span in
            let committed = try await enqueue(writeSet, context: span?.context ?? .topLevel)
            span?.addLink(SpanLink(context: committed.batch, attributes: [:]))
            return committed.receipt
        }
    }

    private func enqueue(_ writeSet: WriteSet, context: ServiceContext) async throws -> Committed {
        try await withCheckedThrowingContinuation { continuation in
            let action = state.withLock { state -> StateMachine.SubmitAction in
                let id = state.nextID
                state.nextID += 1
                let action = state.machine.submitted(id, statements: writeSet.statementCount)
                if action == .queued || action == .queuedWakeWriter {
                    state.waiting[id] = Waiter(writeSet: writeSet, continuation: continuation, context: context)
                }
                return action
            }
            switch action {
            case .queuedWakeWriter: wake.yield()
            case .queued: break
            case .rejectOverloaded:
                continuation.resume(throwing: RuntimeError(code: .overloaded, message: "too many write sets are waiting to commit"))
            case .rejectShutDown:
                continuation.resume(throwing: RuntimeError(code: .shutDown, message: "the writer has stopped"))
            }
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await writeAvailableBatches()
                if state.withLock({ $0.machine.shuttingDown && $0.machine.isDrained }) { break }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.machine.shutDown() }
            self.wake.yield()
            self.wake.finish()
        }
        // Whatever was queued before shutdown still commits.
        await writeAvailableBatches()
        logger.info("group commit stopped", metadata: ["transactions": "\(transactionsCommitted)"])
    }

    private func writeAvailableBatches() async {
        while true {
            let batch = state.withLock { state -> [Waiter]? in
                guard let ids = state.machine.nextBatch() else { return nil }
                return ids.compactMap { state.waiting.removeValue(forKey: $0) }
            }
            guard let batch else { return }
            await commit(batch)
            state.withLock { $0.machine.batchFinished() }
        }
    }

    /// Commits `batch`; on a write set's own SQL error, fails that one and retries the rest.
    /// When a merged statement fails, no single write set can be blamed from the error, so
    /// the batch is committed one write set at a time instead. A deadlock or serialization
    /// failure (against another process writing the same rows) rolled the whole transaction
    /// back and blames no one: the same batch is sent again, a bounded number of times.
    private func commit(_ batch: [Waiter]) async {
        // One span per batch, a root of its own (it serves many traces), linked to each
        // write set's `group_commit.wait` span.
        await TraceContext.traced("group_commit.batch", context: .topLevel, ofKind: .client) { span in
            span?.attributes["intake.write_sets"] = batch.count
            if let span { for waiter in batch { span.addLink(SpanLink(context: waiter.context, attributes: [:])) } }
            await commit(batch, in: span?.context ?? .topLevel)
        }
    }

    private func commit(_ batch: [Waiter], in batchContext: ServiceContext) async {
        var remaining = batch
        if remaining.contains(where: \.writeSet.readsAfterWrites) {
            remaining = remaining.filter { !$0.writeSet.readsAfterWrites } + remaining.filter(\.writeSet.readsAfterWrites)
        }
        let local = localNotifications.withLock { $0 }.filter { $0.isReceivedHere() }
        let leftOut = Set(local.map(\.template))
        var conflicts = 0
        while !remaining.isEmpty {
            let merged = Self.mergedStatements(remaining.map(\.writeSet), leavingOut: leftOut)
            let statements = merged + remaining.flatMap(\.writeSet.statements)
            let start = ContinuousClock.now
            let transaction = transactionCount.withLock { count in
                count += 1
                return count
            }
            transactions.increment()
            do {
                let results = try await client.pipeline(statements)
                commitLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
                batchSize.record(remaining.count)
                var offset = merged.count
                for notification in local where remaining.contains(where: { $0.writeSet.rows.contains { $0.template == notification.template } }) {
                    await deliver(notification) {
                        remaining.flatMap { $0.writeSet.rows.lazy.filter { $0.template == notification.template }.map(\.values) }
                    }
                }
                for waiter in remaining {
                    let count = waiter.writeSet.statements.count
                    let receipt = Receipt(rows: Array(results[offset..<offset + count]), transaction: transaction)
                    waiter.continuation.resume(returning: Committed(receipt: receipt, batch: batchContext))
                    offset += count
                }
                return
            } catch let error as PostgresError where error.isRetryable && conflicts < Self.maxConflictRetries {
                conflicts += 1
                conflictRetries.increment()
                logger.debug("batch lost a lock conflict; sending it again", metadata: ["error": "\(error)", "attempt": "\(conflicts)"])
                try? await Task.sleep(for: .milliseconds(Int.random(in: 1...10) * conflicts))
            } catch let error as PostgresError {
                if remaining.count > 1, !error.isUnavailable, error.statementIndex.map({ $0 < merged.count }) ?? true {
                    logger.debug("merged batch failed; committing its write sets one by one", metadata: ["error": "\(error)"])
                    for waiter in remaining { await commit([waiter], in: batchContext) }
                    return
                }
                guard let culprit = Self.culprit(of: error, in: remaining, after: merged.count), remaining.count > 1 else {
                    // No single write set to blame (connection lost, commit failed, or a
                    // batch of one): everyone gets the error.
                    remaining.forEach { $0.continuation.resume(throwing: error) }
                    return
                }
                var ownError = error
                ownError.statementIndex = error.statementIndex.map { $0 - merged.count - Self.offset(of: culprit, in: remaining) }
                remaining[culprit].continuation.resume(throwing: ownError)
                remaining.remove(at: culprit)
                logger.debug("write set failed; committing the rest of its batch again", metadata: ["error": "\(error)"])
            } catch {
                remaining.forEach { $0.continuation.resume(throwing: error) }
                return
            }
        }
    }

    /// `notification` for a committed batch: in memory while its receiver is still here,
    /// otherwise as the NOTIFY the batch left out. Failing that, the receiver's own poll finds
    /// the commit (a wake-up carries no state of its own).
    private func deliver(_ notification: LocalNotification, rows: () -> [[PostgresValue]]) async {
        if notification.isReceivedHere() { return notification.deliver() }
        do {
            _ = try await client.pipeline([notification.template.statement(for: rows())])
        } catch {
            logger.warning("a notification left out of a batch could not be sent", metadata: ["error": "\(error)"])
        }
    }

    /// One statement per batched template, rows of every write set merged (of a coalescing
    /// template, the first row per value of its column), templates in the order they first
    /// appear; rows of the `leftOut` templates (delivered in memory) are dropped.
    static func mergedStatements(_ batch: [WriteSet], leavingOut leftOut: Set<BatchedStatement> = []) -> [PostgresStatement] {
        // A batch has a handful of templates: found by a scan (equal templates compare their
        // cached hashes first) rather than hashed once per row. Each row's values go straight
        // into its template's columns: the arrays sent as parameters.
        var order: [BatchedStatement] = []
        var columns: [[[PostgresValue]]] = []
        var coalesced: [Set<PostgresValue>] = []
        for writeSet in batch {
            for row in writeSet.rows where leftOut.isEmpty || !leftOut.contains(row.template) {
                let index: Int
                if let found = order.firstIndex(of: row.template) {
                    index = found
                } else {
                    index = order.count
                    order.append(row.template)
                    columns.append(Array(repeating: [], count: row.template.columns))
                    coalesced.append([])
                }
                if let column = row.template.coalescingColumn, !coalesced[index].insert(row.values[column]).inserted { continue }
                for (column, value) in row.values.enumerated() { columns[index][column].append(value) }
            }
        }
        return fused(zip(order, columns).map { (template: $0, parameters: $1.map(PostgresValue.array)) })
    }

    /// The merged statements, the fusable ones (`BatchedStatement.Fusion`) as one statement
    /// where there are two or more: `WITH m1 AS (…), m0 AS (…) SELECT …`, at the place of the
    /// first, each template's parameters after the previous one's. A batch of orders is then
    /// one statement instead of five: Postgres binds, plans, starts and ends one executor.
    /// The modifications are listed last first: Postgres 15 runs unreferenced WITH queries in
    /// the reverse of their order in the statement (`ExecPostprocessPlan` over
    /// `es_auxmodifytables`, built with `lcons`), so they run — and the first that fails
    /// names the error — in template order, as separate statements did. Not a documented
    /// guarantee; nothing depends on it but which of two errors a write set reports.
    static func fused(_ merged: [(template: BatchedStatement, parameters: [PostgresValue])]) -> [PostgresStatement] {
        let modifications = merged.indices.filter { merged[$0].template.fusion == .modification }
        let result = merged.indices.first { merged[$0].template.fusion == .result }
        let parts = modifications + (result.map { [$0] } ?? [])
        guard parts.count >= 2, let first = parts.min() else { return merged.map { PostgresStatement($0.template.sql, $0.parameters) } }
        var parameters: [PostgresValue] = []
        for index in parts { parameters += merged[index].parameters }
        let sql = fusedSQL(modifications: modifications.map { merged[$0].template }, result: result.map { merged[$0].template })
        var statements: [PostgresStatement] = []
        for index in merged.indices where index == first || !parts.contains(index) {
            statements.append(index == first ? PostgresStatement(sql, parameters) : PostgresStatement(merged[index].template.sql, merged[index].parameters))
        }
        return statements
    }

    /// The text of a fused statement: one per sequence of templates (each template's
    /// parameters are its columns, so their numbering depends on the sequence alone), built
    /// once and kept — a batch of orders fuses the same templates every time.
    static func fusedSQL(modifications: [BatchedStatement], result: BatchedStatement?) -> String {
        let key = modifications + (result.map { [$0] } ?? [])
        if let known = fusedSQLCache.withLock({ $0[key] }) { return known }
        var sql = ""
        var parameterCount = 0
        var queries: [String] = []
        for (position, template) in modifications.enumerated() {
            queries.append("m\(position) AS (\(template.sql(shiftingParametersBy: parameterCount)))")
            parameterCount += template.columns
        }
        if !queries.isEmpty { sql = "WITH " + queries.reversed().joined(separator: ", ") }
        if let result {
            sql += (sql.isEmpty ? "" : " ") + result.sql(shiftingParametersBy: parameterCount)
        } else {
            sql += " SELECT 1"
        }
        fusedSQLCache.withLock { cache in
            // Bounded: the templates of a process are a fixed set, but their combinations are
            // not checked here.
            if cache.count >= 256 { cache.removeAll() }
            cache[key] = sql
        }
        return sql
    }

    private static let fusedSQLCache = Mutex<[[BatchedStatement]: String]>([:])

    /// The write set whose statement failed, when the error names a statement and the SQL
    /// itself failed (not the connection).
    private static func culprit(of error: PostgresError, in batch: [Waiter], after merged: Int) -> Int? {
        guard let index = error.statementIndex.map({ $0 - merged }), index >= 0, !error.isUnavailable else { return nil }
        var offset = 0
        for (position, waiter) in batch.enumerated() {
            offset += waiter.writeSet.statements.count
            if index < offset { return position }
        }
        return nil
    }

    private static func offset(of position: Int, in batch: [Waiter]) -> Int {
        batch[..<position].reduce(0) { $0 + $1.writeSet.statements.count }
    }
}
