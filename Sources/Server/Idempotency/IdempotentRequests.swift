import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `Idempotency-Key` for authenticated POSTs (API.md): the keys in flight in this process, and
/// the database's records of the others, which decide across processes.
struct IdempotentRequests: Sendable {
    let records: IdempotencyRecords
    let inFlight: InFlightKeys
    let logger: Logger

    /// For `POST /v1/orders`: refuses a key another POST of this user holds (`422`, or `409`
    /// while that request runs); true when no order holds it either (the order's own
    /// lookup of its key can be skipped).
    func refuseKeyOfAnotherRequest(userID: UUID, key: IdempotencyKey) async throws -> Bool {
        switch try await records.holder(userID: userID, key: key) {
        case .none: return true
        case .order: return false
        case .request(let running): throw running ? Problem.idempotencyKeyInUse : Problem.idempotencyKeyReused
        }
    }

    /// Runs a POST under its `Idempotency-Key`, if any: a replay returns the stored response;
    /// a different body `422`; a concurrent one `409`.
    func run(
        _ request: Request, principal: Principal, body: [UInt8], _ operation: () async throws -> (HTTPResponse.Status, [UInt8])
    ) async throws -> Response {
        guard let key = try IdempotencyKey.from(request.headers) else {
            let (status, data) = try await operation()
            return JSONBody.response(data: data, status: status)
        }
        let hash = IdempotencyKey.requestHash(path: request.uri.path, body: body)
        // An order's key is kept on its row (written in its own transaction), every other
        // POST's in `records`; a key is the user's whatever the route (API.md), so each
        // refuses a key the other holds (`records.holder`, for orders too).
        if try await records.holder(userID: principal.userID, key: key) == .order { throw Problem.idempotencyKeyReused }
        switch try await records.claim(userID: principal.userID, key: key, hash: hash) {
        case .existing(let record):
            guard record.requestHash == hash else { throw Problem.idempotencyKeyReused }
            guard record.status != 0 else { throw Problem.idempotencyKeyInUse }
            return JSONBody.response(
                data: record.body, status: HTTPResponse.Status(code: record.status), headers: [IdempotencyKey.replayedHeader: "true"])
        case .claimed:
            let status: HTTPResponse.Status
            let data: [UInt8]
            do {
                (status, data) = try await operation()
            } catch {
                await release(principal.userID, key)
                throw error
            }
            if (200..<300).contains(status.code) {
                try await records.complete(userID: principal.userID, key: key, status: status.code, body: data)
            } else {
                await release(principal.userID, key)
            }
            return JSONBody.response(data: data, status: status)
        }
    }

    /// Gives up the claim of a request that failed, so that the client may retry with the key.
    /// If that fails too, the claim lapses after `IdempotencyRecords.abandonedAfter`.
    private func release(_ userID: UUID, _ key: IdempotencyKey) async {
        do {
            try await records.release(userID: userID, key: key)
        } catch {
            logger.warning(
                "could not release an idempotency key; it lapses by itself",
                metadata: ["key": "\(key.value)", "lapses_after": "\(IdempotencyRecords.abandonedAfter)", "error": "\(error)"])
        }
    }
}

/// Reads through the Redis cache when there is one (`ReadThroughCache`), straight from the
/// source otherwise.
struct CachedReads: Sendable {
    let cache: ReadThroughCache?

    func read(_ key: String, load: () async throws -> [UInt8]?) async throws -> [UInt8]? {
        guard let cache else { return try await load() }
        return try await cache.read(key, load: load)
    }
}
