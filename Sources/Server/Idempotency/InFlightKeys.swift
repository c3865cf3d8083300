import Foundation
import Synchronization

/// The idempotency keys whose first request is still running in this process: a second
/// request with one gets `409 idempotency-key-in-use` instead of running concurrently.
/// (Across processes, the order row's unique key and the records' primary key decide.)
final class InFlightKeys: Sendable {
    private let running = Mutex<Set<String>>([])

    /// Runs `body` holding the key; `idempotency-key-in-use` when it is already held.
    func holding<T>(_ userID: UUID, _ key: IdempotencyKey, _ body: () async throws -> T) async throws -> T {
        let slot = "\(userID.uuidString)\u{0}\(key.value)"
        guard running.withLock({ $0.insert(slot).inserted }) else { throw Problem.idempotencyKeyInUse }
        defer { _ = running.withLock { $0.remove(slot) } }
        return try await body()
    }
}
