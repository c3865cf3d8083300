import Foundation
import IntakeRuntime

/// Checks, from Postgres and the Redis stream alone, that a run lost nothing and oversold
/// nothing.
public struct Verifier: Sendable {
    let db: PostgresClient
    let redis: RedisClient
    let stream: String
    let eventType: String
    let eventWait: Duration

    public init(db: PostgresClient, redis: RedisClient, stream: String, eventTypePrefix: String, eventWait: Duration) {
        self.db = db
        self.redis = redis
        self.stream = stream
        self.eventType = "\(eventTypePrefix).order.created"
        self.eventWait = eventWait
    }

    public func verify(created: [CreatedOrder], products: [LoadProduct], stockPerProduct: Int) async -> LoadReport.Verification {
        var checks: [LoadReport.Check] = []
        checks.append(await check("every 201 order exists with its items") { try await ordersExist(created) })
        checks.append(await check("available + reserved + shipped = stock on hand, nothing negative") {
            try await stockConserved(products, stockPerProduct: stockPerProduct)
        })
        checks.append(await check("reserved and shipped units match the orders' items") { try await reservationsMatch(products) })
        var lags = RelayLags()
        checks.append(await check("every created order's \(eventType) event is in \(stream)") { try await eventsPublished(created, lags: &lags) })
        // A figure, not a check: a database without commit timestamps only lacks it.
        let fromCommit = try? await commitLags(lags.addedByEvent)
        return LoadReport.Verification(
            passed: checks.allSatisfy(\.passed), checks: checks, relayLagMs: LoadReport.Percentiles(milliseconds: lags.fromAcknowledgement),
            relayLagFromCreationMs: LoadReport.Percentiles(milliseconds: lags.fromCreation),
            relayLagFromCommitMs: fromCommit.flatMap { LoadReport.Percentiles(milliseconds: $0) })
    }

    private func check(_ name: String, _ body: () async throws -> (Bool, String)) async -> LoadReport.Check {
        do {
            let (passed, detail) = try await body()
            return LoadReport.Check(name: name, passed: passed, detail: detail)
        } catch {
            return LoadReport.Check(name: name, passed: false, detail: "could not check: \(error)")
        }
    }

    func ordersExist(_ created: [CreatedOrder]) async throws -> (Bool, String) {
        var missing: [UUID] = []
        var wrong: [UUID] = []
        for chunk in stride(from: 0, to: created.count, by: 5000).map({ created[$0..<min($0 + 5000, created.count)] }) {
            let rows = try await db.query(
                """
                SELECT order_id, product_id, sum(quantity)::int8 AS quantity FROM order_items
                WHERE order_id = ANY($1::uuid[]) GROUP BY order_id, product_id
                """, [.uuidArray(chunk.map(\.id))])
            var stored: [UUID: [UUID: Int]] = [:]
            for row in rows {
                stored[try row.decode("order_id"), default: [:]][try row.decode("product_id")] = try row.decode("quantity")
            }
            for order in chunk {
                guard let lines = stored[order.id] else {
                    missing.append(order.id)
                    continue
                }
                if lines != order.lines { wrong.append(order.id) }
            }
        }
        let passed = missing.isEmpty && wrong.isEmpty
        var detail = "\(created.count - missing.count - wrong.count) of \(created.count) found with exactly their items"
        if !missing.isEmpty { detail += "; missing: \(missing.prefix(5).map { $0.lowercasedString })" }
        if !wrong.isEmpty { detail += "; different items: \(wrong.prefix(5).map { $0.lowercasedString })" }
        return (passed, detail)
    }

    func stockConserved(_ products: [LoadProduct], stockPerProduct: Int) async throws -> (Bool, String) {
        let rows = try await db.query(
            """
            SELECT product_id, sum(available)::int8 AS a, sum(reserved)::int8 AS r, sum(shipped)::int8 AS s,
                min(available) AS min_a, min(reserved) AS min_r
            FROM stock_shards WHERE product_id = ANY($1::uuid[]) GROUP BY product_id
            """, [.uuidArray(products.map(\.id))])
        var bad: [String] = []
        var sold = 0
        for row in rows {
            let (a, r, s): (Int, Int, Int) = (try row.decode("a"), try row.decode("r"), try row.decode("s"))
            let lowest = min(try row.decode("min_a", as: Int.self), try row.decode("min_r", as: Int.self))
            sold += r + s
            if a + r + s != stockPerProduct || lowest < 0 {
                bad.append("\((try row.decode("product_id", as: UUID.self)).lowercasedString): \(a)+\(r)+\(s)")
            }
        }
        if rows.count != products.count { bad.append("\(products.count - rows.count) products have no stock rows") }
        return (bad.isEmpty, bad.isEmpty ? "\(products.count) products conserved; \(sold) units reserved or shipped" : "broken: \(bad.prefix(5))")
    }

    func reservationsMatch(_ products: [LoadProduct]) async throws -> (Bool, String) {
        let rows = try await db.query(
            """
            SELECT count(*)::int8 AS n FROM stock_shards s
            LEFT JOIN (
                SELECT i.product_id, i.shard,
                    sum(i.quantity) FILTER (WHERE o.status IN ('PENDING', 'PAID')) AS live,
                    sum(i.quantity) FILTER (WHERE o.status IN ('SHIPPED', 'DELIVERED')) AS gone
                FROM order_items i JOIN orders o ON o.id = i.order_id
                WHERE i.product_id = ANY($1::uuid[]) GROUP BY 1, 2
            ) x ON x.product_id = s.product_id AND x.shard = s.shard
            WHERE s.product_id = ANY($1::uuid[]) AND (s.reserved <> COALESCE(x.live, 0) OR s.shipped <> COALESCE(x.gone, 0))
            """, [.uuidArray(products.map(\.id))])
        let mismatched = try rows[0].decode("n", as: Int.self)
        return (mismatched == 0, mismatched == 0 ? "every shard agrees with its orders" : "\(mismatched) shards disagree with their orders")
    }

    /// Reads the stream forward until every created order's event was seen, or `eventWait`
    /// passed (the relay catching up).
    /// Milliseconds to each created order's XADD, from its 201 and from its event's `time`.
    struct RelayLags {
        var fromAcknowledgement: [Double] = []
        var fromCreation: [Double] = []
        /// Each matched event's id and its XADD time (ms since the epoch).
        var addedByEvent: [(eventID: UUID, added: Double)] = []
    }

    /// Milliseconds from the commit of each event's outbox row to its XADD; nil when the
    /// database does not track commit timestamps. Rows already pruned are left out.
    func commitLags(_ added: [(eventID: UUID, added: Double)]) async throws -> [Double]? {
        let setting = try await db.query("SELECT current_setting('track_commit_timestamp') = 'on' AS tracked")
        guard try setting[0].decode("tracked", as: Bool.self), !added.isEmpty else { return nil }
        var lags: [Double] = []
        for chunk in stride(from: 0, to: added.count, by: 5000).map({ added[$0..<min($0 + 5000, added.count)] }) {
            let rows = try await db.query(
                """
                SELECT event_id, (extract(epoch FROM pg_xact_commit_timestamp(txid::xid)) * 1000000)::int8 AS committed_us
                FROM outbox WHERE event_id = ANY($1::uuid[]) AND txid <> '0'
                """, [.uuidArray(chunk.map(\.eventID))])
            var committed: [UUID: Double] = [:]
            for row in rows {
                if let us = try row.decode("committed_us", as: Int64?.self) { committed[try row.decode("event_id")] = Double(us) / 1000 }
            }
            for (eventID, at) in chunk {
                if let commit = committed[eventID] { lags.append(max(0, at - commit)) }
            }
        }
        return lags.isEmpty ? nil : lags
    }

    func eventsPublished(_ created: [CreatedOrder], lags: inout RelayLags) async throws -> (Bool, String) {
        var acknowledged: [String: Date] = [:]
        for order in created { acknowledged[order.id.lowercasedString] = order.acknowledgedAt }
        var waiting = Set(acknowledged.keys)
        var cursor = "-"
        var entries = 0
        let deadline = ContinuousClock.now + eventWait
        while !waiting.isEmpty {
            let reply = try await redis.command("XRANGE", .init(stream), .init(cursor), "+", "COUNT", "10000").throwingErrorReply()
            let batch = reply.array ?? []
            for entry in batch {
                guard let parts = entry.array, parts.count == 2, let id = parts[0].string else { continue }
                cursor = "(" + id
                entries += 1
                let fields = parts[1].array ?? []
                guard fields.count >= 2, let json = fields[1].bytes,
                    let event = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
                    event["type"] as? String == eventType, let subject = event["subject"] as? String
                else { continue }
                if waiting.remove(subject) != nil, let ack = acknowledged[subject], let added = Self.streamEntryMilliseconds(id),
                    let time = (event["time"] as? String).flatMap(JSONText.parseTimestamp)
                {
                    lags.fromAcknowledgement.append(max(0, added - ack.timeIntervalSince1970 * 1000))
                    lags.fromCreation.append(max(0, added - time.timeIntervalSince1970 * 1000))
                    if let eventID = (event["id"] as? String).flatMap(UUID.init(uuidString:)) { lags.addedByEvent.append((eventID, added)) }
                }
            }
            if batch.isEmpty {
                if ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        return (
            waiting.isEmpty,
            waiting.isEmpty
                ? "\(created.count) of \(created.count) seen among \(entries) stream entries"
                : "\(waiting.count) of \(created.count) missing after \(eventWait): \(waiting.prefix(5).sorted())"
        )
    }

    /// The time part of a stream entry id (`<ms>-<seq>`), in milliseconds since the epoch.
    static func streamEntryMilliseconds(_ id: String) -> Double? {
        id.split(separator: "-").first.flatMap { Double($0) }
    }
}
