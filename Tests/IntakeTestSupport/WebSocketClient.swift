import Foundation
import Synchronization

/// A WebSocket client (RFC 6455) over a blocking loopback socket: just what talking to a
/// local browser's DevTools endpoint takes — text frames out (masked), text frames in
/// (fragmented or not), pings answered. Call it off the cooperative pool
/// (`LoopbackSocket.offPool`): every call blocks until the peer answers or the socket's
/// timeout passes.
public final class WebSocketClient: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let fd: Int32
    /// Bytes read past the handshake or a frame, not yet consumed. Only the thread in a call
    /// touches it; the lock makes that so even if two calls were ever made at once.
    private let pending = Mutex<[UInt8]>([])

    /// Connects to `ws://127.0.0.1:port/path` and completes the opening handshake.
    public init(port: Int, path: String, timeout: Int = 60) throws {
        fd = LoopbackSocket.connect(port: port, timeout: timeout)
        guard fd >= 0 else { throw Failure(description: "cannot connect to 127.0.0.1:\(port)") }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try write(Array(request.utf8))
        var head: [UInt8] = []
        while !head.ends(with: [13, 10, 13, 10]) { head += try read(1) }
        let status = String(decoding: head, as: UTF8.self)
        guard status.hasPrefix("HTTP/1.1 101") else {
            close(fd)
            throw Failure(description: "the WebSocket handshake was refused: \(status.prefix(200))")
        }
    }

    deinit { close(fd) }

    /// Sends one text message.
    public func send(_ text: String) throws {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default: frame.append(0x80 | 127); frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(frame)
    }

    /// The next text message (continuation frames joined; pings answered on the way).
    public func receive() throws -> String {
        var message: [UInt8] = []
        while true {
            let head = try read(2)
            let final = head[0] & 0x80 != 0
            let opcode = head[0] & 0x0f
            var length = Int(head[1] & 0x7f)
            if length == 126 {
                length = try read(2).reduce(0) { $0 << 8 | Int($1) }
            } else if length == 127 {
                length = try read(8).reduce(0) { $0 << 8 | Int($1) }
            }
            let mask = head[1] & 0x80 != 0 ? try read(4) : nil
            var payload = try read(length)
            if let mask { payload = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] } }
            switch opcode {
            case 0x8: throw Failure(description: "the peer closed the WebSocket")
            case 0x9:
                var pong: [UInt8] = [0x8a, 0x80 | UInt8(min(payload.count, 125))]
                pong += [0, 0, 0, 0] + payload.prefix(125)
                try write(pong)
            case 0xa: continue
            default:
                message += payload
                if final { return String(decoding: message, as: UTF8.self) }
            }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Exactly `count` bytes.
    private func read(_ count: Int) throws -> [UInt8] {
        try pending.withLock { pending in
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while pending.count < count {
                let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard received > 0 else { throw Failure(description: received == 0 ? "the peer closed the connection" : "recv failed: errno \(errno)") }
                pending += chunk[..<received]
            }
            let out = Array(pending[..<count])
            pending.removeFirst(count)
            return out
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
