import Foundation
import IntakeRuntime

/// The durable path of cache invalidation: for each published event, the cached reads of what
/// it changed (an order's, a product's) get a new version. The relay retries a batch until
/// every sink took it, so a change whose own invalidation failed (Redis refusing writes for a
/// moment), made by a process that stopped before retrying it, or by one that keeps no cache
/// (an in-process gateway), still reaches every process's readers within the relay's lag
/// (hostile review, session 7: another instance served the stale entry for its whole TTL).
struct CacheInvalidationSink: OutboxSink {
    let cache: ReadThroughCache

    func publish(_ records: [OutboxRecord]) async throws {
        try await cache.invalidateOrThrow(Self.keys(of: records))
    }

    /// The cache keys `records` changed. An order's creation changes no cached read: nothing
    /// could have read the order before.
    static func keys(of records: [OutboxRecord]) -> Set<String> {
        var keys = Set<String>()
        for record in records {
            guard let id = UUID(uuidString: record.aggregateID) else { continue }
            switch record.aggregateType {
            case "order" where !record.eventType.hasSuffix(".created"): keys.insert(CacheKey.order(id))
            case "product": keys.insert(CacheKey.product(id))
            default: break
            }
        }
        return keys
    }
}
