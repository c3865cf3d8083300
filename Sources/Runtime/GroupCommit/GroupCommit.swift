import DequeModule
import Instrumentation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Tracing

/// Commits many callers' write sets in one transaction.
///
/// A single writer takes the write sets that are waiting and sends them as one transaction
/// (one round trip) on its connection, then resumes every waiter with its own statements'
/// results. Under load, batches grow and each commit's fsync is shared; alone, a write set
/// costs one commit. Up to two batches are in flight, the second queued behind the first on
/// the same connection (`PostgresPipeline`), so Postgres starts it the moment the first
/// commits instead of waiting for the writer (`StateMachine` says when a second may go).
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
    /// commit (one connection runs them in the order sent): a change committed in transaction n is
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

    private let pipeline: PostgresPipeline
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
        self.pipeline = PostgresPipeline(client: client)
        self.logger = logger
        self.state = Mutex(State(machine: StateMachine(
            maxWriteSets: maxWriteSetsPerBatch, maxStatements: maxStatementsPerBatch, maxPending: maxPending)))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Write sets waiting for a batch (not counting the batches in flight).
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
        var inFlight = Deque<SentBatch>()
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await advance(&inFlight, draining: false)
                if state.withLock({ $0.machine.shuttingDown && $0.machine.isDrained }) { break }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.machine.shutDown() }
            self.wake.yield()
            self.wake.finish()
        }
        // Whatever was queued before shutdown still commits.
        await advance(&inFlight, draining: true)
        pipeline.close()
        logger.info("group commit stopped", metadata: ["transactions": "\(transactionsCommitted)"])
    }

    /// A batch sent and not settled yet: its waiters in the order their statements went.
    private struct SentBatch {
        var waiters: [Waiter]
        var merged: Int
        var local: [LocalNotification]
        var transaction: Int
        var start: ContinuousClock.Instant
        var sent: PostgresPipeline.Batch
        var span: (any Span)?
    }

    /// Settles the batches whose results are in, oldest first, and sends the next ones while
    /// the state machine lets them go. `draining`: waits for every batch in flight and sends
    /// until nothing is queued.
    private func advance(_ inFlight: inout Deque<SentBatch>, draining: Bool) async {
        while true {
            if let head = inFlight.first, draining || head.sent.isComplete {
                inFlight.removeFirst()
                await settle(head, behind: &inFlight)
                head.span?.end()
                state.withLock { $0.machine.batchFinished() }
                continue
            }
            let batch = state.withLock { state -> [Waiter]? in
                guard let ids = state.machine.nextBatch() else { return nil }
                return ids.compactMap { state.waiting.removeValue(forKey: $0) }
            }
            guard let batch else { return }
            inFlight.append(send(batch, span: batchSpan(for: batch)))
        }
    }

    /// One span per batch, a root of its own (it serves many traces), linked to each write
    /// set's `group_commit.wait` span; ended once the batch is settled.
    private func batchSpan(for batch: [Waiter]) -> (any Span)? {
        guard let span = TraceContext.startSpan("group_commit.batch", context: .topLevel, ofKind: .client) else { return nil }
        span.attributes["intake.write_sets"] = batch.count
        for waiter in batch { span.addLink(SpanLink(context: waiter.context, attributes: [:])) }
        return span
    }

    /// Sends `batch` as one transaction behind those in flight: its merged statements, then
    /// each write set's own (those that read after writes last).
    private func send(_ batch: [Waiter], span: (any Span)?) -> SentBatch {
        var waiters = batch
        if waiters.contains(where: \.writeSet.readsAfterWrites) {
            waiters = waiters.filter { !$0.writeSet.readsAfterWrites } + waiters.filter(\.writeSet.readsAfterWrites)
        }
        let local = localNotifications.withLock { $0 }.filter { $0.isReceivedHere() }
        let merged = Self.mergedStatements(waiters.map(\.writeSet), leavingOut: Set(local.map(\.template)))
        // Numbered in the order sent: the pipeline commits in that order.
        let transaction = transactionCount.withLock { count in
            count += 1
            return count
        }
        transactions.increment()
        let sent = pipeline.send(merged + waiters.flatMap(\.writeSet.statements)) { [wake] in wake.yield() }
        return SentBatch(
            waiters: waiters, merged: merged.count, local: local, transaction: transaction, start: .now, sent: sent, span: span)
    }

    /// Hands `first`'s outcome to its waiters. On a write set's own SQL error, fails that one
    /// and sends the rest again. When a merged statement fails, no single write set can be
    /// blamed from the error, so its write sets are committed one at a time instead. A
    /// deadlock or serialization failure (against another process writing the same rows)
    /// rolled the whole transaction back and blames no one: the same write sets go again, a
    /// bounded number of times. A batch that failed is sent again only once every batch sent
    /// behind it is settled (they do not depend on it: a caller submits a write set that
    /// depends on another only once that one has committed).
    private func settle(_ first: SentBatch, behind inFlight: inout Deque<SentBatch>) async {
        var batch = first
        var conflicts = 0
        while true {
            let error: any Error
            switch await batch.sent.outcome() {
            case .success(let results):
                commitLatency.recordNanoseconds((ContinuousClock.now - batch.start).nanoseconds)
                batchSize.record(batch.waiters.count)
                let waiters = batch.waiters
                for notification in batch.local where waiters.contains(where: { $0.writeSet.rows.contains { $0.template == notification.template } }) {
                    await deliver(notification) {
                        waiters.flatMap { $0.writeSet.rows.lazy.filter { $0.template == notification.template }.map(\.values) }
                    }
                }
                let context = batch.span?.context ?? .topLevel
                var offset = batch.merged
                for waiter in waiters {
                    let count = waiter.writeSet.statements.count
                    let receipt = Receipt(rows: Array(results[offset..<offset + count]), transaction: batch.transaction)
                    waiter.continuation.resume(returning: Committed(receipt: receipt, batch: context))
                    offset += count
                }
                return
            case .failure(let failure):
                error = failure
            }
            while let behind = inFlight.popFirst() {
                await settle(behind, behind: &inFlight)
                behind.span?.end()
                state.withLock { $0.machine.batchFinished() }
            }
            var remaining = batch.waiters
            switch error {
            case let error as PostgresError
            where (error.isRetryable || PreparedStatementCache.invalidates(sqlState: error.sqlState)) && conflicts < Self.maxConflictRetries:
                conflicts += 1
                conflictRetries.increment()
                logger.debug("batch lost a lock conflict; sending it again", metadata: ["error": "\(error)", "attempt": "\(conflicts)"])
                try? await Task.sleep(for: .milliseconds(Int.random(in: 1...10) * conflicts))
            case let error as PostgresError:
                if remaining.count > 1, !error.isUnavailable, error.statementIndex.map({ $0 < batch.merged }) ?? true {
                    logger.debug("merged batch failed; committing its write sets one by one", metadata: ["error": "\(error)"])
                    for waiter in remaining {
                        var none = Deque<SentBatch>()
                        await settle(send([waiter], span: batch.span), behind: &none)
                    }
                    return
                }
                guard let culprit = Self.culprit(of: error, in: remaining, after: batch.merged), remaining.count > 1 else {
                    // No single write set to blame (connection lost, commit failed, or a
                    // batch of one): everyone gets the error.
                    remaining.forEach { $0.continuation.resume(throwing: error) }
                    return
                }
                var ownError = error
                ownError.statementIndex = error.statementIndex.map { $0 - batch.merged - Self.offset(of: culprit, in: remaining) }
                remaining[culprit].continuation.resume(throwing: ownError)
                remaining.remove(at: culprit)
                logger.debug("write set failed; committing the rest of its batch again", metadata: ["error": "\(error)"])
            default:
                remaining.forEach { $0.continuation.resume(throwing: error) }
                return
            }
            batch = send(remaining, span: batch.span)
        }
    }

    /// `notification` for a committed batch: in memory while its receiver is still here,
    /// otherwise as the NOTIFY the batch left out (on the writer's pipeline, behind the
    /// batches in flight). Failing that, the receiver's own poll finds the commit (a wake-up
    /// carries no state of its own).
    private func deliver(_ notification: LocalNotification, rows: () -> [[PostgresValue]]) async {
        if notification.isReceivedHere() { return notification.deliver() }
        if case .failure(let error) = await pipeline.send([notification.template.statement(for: rows())]).outcome() {
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
