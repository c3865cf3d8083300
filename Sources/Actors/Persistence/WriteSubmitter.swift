import Foundation
import IntakeRuntime

/// How a write set's commit ended.
enum CommitOutcome {
    /// Committed in writer transaction `transaction` (nil: found committed after the
    /// connection broke, in a transaction not known).
    case committed(transaction: Int?)
    case failed(any Error)
    /// The connection broke mid-commit and the database could not be asked in time.
    case unknown(any Error)
}

/// Submits the domain's write sets through the group-commit writer and, when the connection
/// broke mid-commit (`connectionLost`), finds out whether the commit landed: the commit may
/// still be running on the server, so that server process is ended first (`settle`) — before
/// that, a missing row could mean "not yet" — then `landed` asks the database, retrying while
/// it is unreachable, for up to `outcomeWait`. One answer to "unknown outcome" for orders and
/// write-offs alike.
struct WriteSubmitter: Sendable {
    let groupCommit: GroupCommit
    let db: PostgresClient

    /// How long a commit that lost its connection keeps asking whether it landed.
    static let outcomeWait: Duration = .seconds(15)

    func submit(_ writeSet: WriteSet, landed: @Sendable () async throws -> Bool) async -> CommitOutcome {
        do {
            return .committed(transaction: try await groupCommit.commit(writeSet).transaction)
        } catch let error as PostgresError where error.code == .connectionLost {
            let deadline = ContinuousClock.now + Self.outcomeWait
            var settled = error.backend == nil
            repeat {
                do {
                    if !settled, let backend = error.backend {
                        try await db.settle(backend)
                        settled = true
                    }
                    return try await landed() ? .committed(transaction: nil) : .failed(error)
                } catch {
                    // Unreachable still: ask again shortly, until the deadline.
                    do { try await Task.sleep(for: .milliseconds(200)) } catch { return .unknown(error) }
                }
            } while ContinuousClock.now < deadline
            return .unknown(error)
        } catch {
            return .failed(error)
        }
    }
}
