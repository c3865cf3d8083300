import Foundation
import IntakeRuntime

/// The durable path of cache invalidation: with each batch of published events, the cached
/// reads of what they changed (an order's, a product's) get a new version, in the event
/// stream's own pipeline (`RedisStreamSink.alongside`: no extra round trip). The relay retries
/// a batch until every command of it succeeded, so a change whose own invalidation failed
/// (Redis refusing writes for a moment), made by a process that stopped before retrying it,
/// or by one that keeps no cache (an in-process gateway), still reaches every process's
/// readers within the relay's lag (second hostile review, session 7: another instance served
/// the stale entry for its whole TTL).
enum CacheInvalidation {
    /// The invalidations `records` call for.
    static func commands(_ records: [OutboxRecord], cache: ReadThroughCache) -> [RedisCommand] {
        let changed = keys(of: records)
        return changed.isEmpty ? [] : cache.invalidationCommands(changed)
    }

    /// The cache keys `records` changed. An order's creation changes no cached read: nothing
    /// could have read the order before.
    static func keys(of records: [OutboxRecord]) -> Set<String> {
        var keys = Set<String>()
        for record in records {
            switch record.aggregateType {
            case "order" where !record.eventType.hasSuffix(".created"):
                if let id = UUID(canonical: record.aggregateID) { keys.insert(CacheKey.order(id)) }
            case "product":
                if let id = UUID(canonical: record.aggregateID) { keys.insert(CacheKey.product(id)) }
            default: break
            }
        }
        return keys
    }
}
