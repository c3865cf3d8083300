import CLibPQ
import Foundation
import Logging
import Synchronization

/// `LISTEN`s on a set of channels over a dedicated connection, on a dedicated thread, and
/// delivers what arrives as an `AsyncSequence`.
///
/// When the connection breaks (a server restart, `pg_terminate_backend`) the listener
/// reconnects with backoff, listens again, and yields `.listening` once more. Notifications
/// sent while it was disconnected are lost — Postgres keeps none — so a consumer treats every
/// `.listening` as "look for work you may have missed".
///
/// Iterate it once; ending the iteration (or cancelling its task) closes the connection.
public struct PostgresListener: AsyncSequence, Sendable {
    public enum Event: Sendable, Hashable {
        /// Connected and listening on every channel (first time, or again after a reconnect).
        case listening
        case notification(PostgresNotification)
    }

    public typealias Element = Event

    let configuration: PostgresConfiguration
    let channels: [String]
    let logger: Logger

    public func makeAsyncIterator() -> AsyncStream<Event>.Iterator {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(10_000))
        let stopped = Mutex(false)
        continuation.onTermination = { _ in stopped.withLock { $0 = true } }
        let thread = BlockingThread(name: "postgres-listener")
        let loop = ListenLoop(configuration: configuration, channels: channels, logger: logger)
        thread.submit {
            loop.run(isStopped: { stopped.withLock { $0 } }, yield: { continuation.yield($0) })
            continuation.finish()
        }
        thread.stop()
        return stream.makeAsyncIterator()
    }
}

/// The listener's blocking loop; runs on its own thread until told to stop.
private struct ListenLoop: Sendable {
    let configuration: PostgresConfiguration
    let channels: [String]
    let logger: Logger

    func run(isStopped: () -> Bool, yield: (PostgresListener.Event) -> Void) {
        let connection = PostgresConnection(configuration: configuration)
        defer { connection.close() }
        var backoff: Duration = .milliseconds(50)
        while !isStopped() {
            if !connection.isConnected {
                do {
                    try connection.connect()
                    for channel in channels {
                        try connection.simpleQuery("LISTEN \(quoteIdentifier(channel))")
                    }
                    backoff = .milliseconds(50)
                    logger.debug("listening", metadata: ["channels": "\(channels)"])
                    yield(.listening)
                } catch {
                    connection.close()
                    logger.warning("listener cannot connect; retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                    BlockingThread.sleep(backoff, unless: isStopped)
                    backoff = min(backoff * 2, .seconds(2))
                    continue
                }
            }
            guard let handle = connection.handle else { continue }
            switch Socket.wait(PQsocket(handle), write: false, timeoutMilliseconds: 200) {
            case .timedOut:
                continue
            case .failed:
                connection.close()
            case .ready:
                if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
                    logger.warning("listener connection lost; reconnecting")
                    connection.close()
                    continue
                }
                for notification in connection.drainNotifications() {
                    yield(.notification(notification))
                }
            }
        }
    }
}

/// `"name"` with inner quotes doubled: safe to splice into SQL as an identifier.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
