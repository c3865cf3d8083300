import Foundation
@testable import IntakeRuntime
import IntakeTestSupport
import Testing

@testable import IntakeServer

@Suite("Cache invalidation through the outbox, on real Postgres and Redis")
struct CacheInvalidationTests {
    @Test func eventsNameTheCachedReadsTheyChange() {
        let order = UUID()
        let product = UUID()
        func record(_ type: String, _ aggregate: String, _ id: String) -> OutboxRecord {
            OutboxRecord(id: 1, eventID: UUID().lowercasedString, aggregateType: aggregate, aggregateID: id, eventType: type, event: "{}")
        }
        let keys = CacheInvalidation.keys(of: [
            record("com.example.order.created", "order", order.lowercasedString),
            record("com.example.inventory.updated", "product", product.lowercasedString),
        ])
        #expect(keys == [CacheKey.product(product)], "a new order has no earlier read to make stale")
        #expect(CacheInvalidation.keys(of: [record("com.example.order.paid", "order", order.lowercasedString)]) == [CacheKey.order(order)])
        #expect(CacheInvalidation.keys(of: [record("x", "order", "not-an-id")]).isEmpty)
    }

    /// A change whose own invalidation never happened (Redis refused it and the process
    /// stopped, or another process made it): its published events still make the entries
    /// stale for every reader.
    @Test func publishedEventsInvalidateWhatTheyChanged() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            try await TestServices.withRedis { redis, prefix in
                let cache = ReadThroughCache(redis: redis, prefix: prefix)
                let order = UUID()
                let product = UUID()
                let source = Shared("before")
                func read(_ key: String) async throws -> String? {
                    try await cache.read(key) { Array(source.withLock { $0 }.utf8) }.map { String(decoding: $0, as: UTF8.self) }
                }
                #expect(try await read(CacheKey.order(order)) == "before")
                #expect(try await read(CacheKey.product(product)) == "before")
                source.withLock { $0 = "after" }
                #expect(try await read(CacheKey.order(order)) == "before", "cached, and nobody invalidated it")
                let events = [
                    OutboxEvent(aggregateType: "order", aggregateID: order.lowercasedString,
                                event: CloudEvent(source: "/intake/orders", type: "com.example.order.paid", subject: order.lowercasedString, data: "{}")),
                    OutboxEvent(aggregateType: "product", aggregateID: product.lowercasedString,
                                event: CloudEvent(source: "/intake/inventory", type: "com.example.inventory.updated", subject: product.lowercasedString, data: "{}")),
                ]
                try await db.pipeline([OutboxQueries.insert(events), OutboxQueries.notify])
                let sink = RedisStreamSink(redis: redis, stream: prefix + "events") { CacheInvalidation.commands($0, cache: cache) }
                let relay = OutboxRelay(client: db, sinks: [sink])
                try await withRunningServices([relay]) {
                    try await waitUntil("the relay published both events") { relay.publishedEvents == 2 }
                }
                #expect(try await read(CacheKey.order(order)) == "after")
                #expect(try await read(CacheKey.product(product)) == "after")
            }
        }
    }
}
