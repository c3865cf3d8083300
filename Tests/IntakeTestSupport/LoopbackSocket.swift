import Foundation

/// A TCP connection to 127.0.0.1, for tests that speak HTTP byte by byte (what a client
/// library will not send: half requests, chunked bodies of a chosen size, raw bytes).
public enum LoopbackSocket {
    /// A connected socket with send and receive timeouts of `timeout` seconds; -1 when the
    /// connection was refused. The caller closes it.
    public static func connect(port: Int, timeout seconds: Int = 60) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            return -1
        }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }
}

extension LoopbackSocket {
    /// Runs blocking socket calls on a thread of their own, not on the cooperative pool: the
    /// server under test answers from that pool, and two tests blocked in `recv` on a
    /// two-core machine would leave it no thread to answer them with.
    public static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
