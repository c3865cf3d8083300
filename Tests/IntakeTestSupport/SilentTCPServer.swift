import Foundation
import IntakeRuntime
import Synchronization

/// A TCP server on 127.0.0.1 that accepts every connection, reads what it is sent and never
/// answers: a server that has stopped responding (a frozen Redis), for clients' timeouts.
public final class SilentTCPServer: Sendable {
    public let port: Int
    private let listener: Int32
    private let received = Atomic<Int>(0)
    /// Open connections; `stopped` once `stop` ran. Each descriptor is closed by the thread
    /// that reads it, under this lock and after leaving the list, and `stop` shuts down only
    /// those in the list, under the lock: a descriptor number is never used after its close
    /// (another test's socket, a Postgres connection, may have taken it by then).
    private let connections = Mutex<(open: [Int32], stopped: Bool)>(([], false))

    /// Bytes read from every connection so far.
    public var bytesReceived: Int { received.load(ordering: .acquiring) }

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// A Redis client of this server: every command times out after `timeout`.
    public func redisClient(timeout: Duration, poolSize: Int = 2) throws -> RedisClient {
        RedisClient(
            configuration: try RedisConfiguration(
                url: "redis://127.0.0.1:\(port)/0", poolSize: poolSize, leaseTimeout: .seconds(60), timeout: timeout))
    }

    private func acceptLoop() {
        defer {
            connections.withLock { state in
                state.stopped = true
                close(listener)
            }
        }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let admitted = connections.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.open.append(connection)
                return true
            }
            guard admitted else {
                close(connection)
                return
            }
            Thread.detachNewThread { [self] in
                defer {
                    connections.withLock { state in
                        state.open.removeAll { $0 == connection }
                        close(connection)
                    }
                }
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = recv(connection, &buffer, buffer.count, 0)
                    guard count > 0 else { return }
                    received.add(count, ordering: .releasing)
                }
            }
        }
    }

    /// Ends the listener and every connection (their clients see them closed). Idempotent.
    public func stop() {
        connections.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            for connection in state.open { shutdown(connection, Int32(SHUT_RDWR)) }
        }
    }
}
