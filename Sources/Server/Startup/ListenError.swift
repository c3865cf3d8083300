import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Why the HTTP server could not listen, in one line that names the address and what to do:
/// NIO's own (`bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`) names
/// neither.
public struct ListenError: Error, Sendable, CustomStringConvertible {
    public var description: String

    /// The listen failure `error` is, if it is one.
    public static func from(_ error: any Error, host: String, port: Int) -> ListenError? {
        guard let io = error as? IOError, io.description.contains("bind") else { return nil }
        let address = "\(host):\(port)"
        switch io.errnoCode {
        case EADDRINUSE:
            return ListenError(description: "cannot listen on \(address): the address is in use by another process (choose another with --port or INTAKE_PORT)")
        case EACCES:
            return ListenError(description: "cannot listen on \(address): permission denied (ports below 1024 need privileges)")
        case EADDRNOTAVAIL:
            return ListenError(description: "cannot listen on \(address): no interface of this machine has that address (see --host, INTAKE_HOST)")
        default:
            return ListenError(description: "cannot listen on \(address): \(String(cString: strerror(io.errnoCode)))")
        }
    }
}
