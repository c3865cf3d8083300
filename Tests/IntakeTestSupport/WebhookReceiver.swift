import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP server on 127.0.0.1 that records every request and answers with the statuses
/// the test chooses — a webhook subscriber for tests.
public final class WebhookReceiver: Sendable {
    public struct Received: Sendable {
        public var method: String = "POST"
        public var contentType: String?
        public var body: String
    }

    /// Answered as 200 with a `Content-Length` of 100 and one byte of body, and then nothing:
    /// a subscriber that stalls in its response.
    public static let stall: UInt = 0

    final class Log: Sendable {
        let state: Mutex<(received: [Received], statuses: [UInt])>
        init(statuses: [UInt]) { state = Mutex(([], statuses)) }

        /// Records a request and returns the status to answer.
        func record(_ request: Received) -> UInt {
            state.withLock { state in
                state.received.append(request)
                return state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
            }
        }
    }

    private let channel: any Channel
    private let log: Log
    public let port: Int

    /// Starts the server; `statuses` are answered in turn, then 200 for ever. A 3xx names
    /// `/moved` as its `Location`; `stall` stalls.
    public static func start(answering statuses: [UInt] = []) async throws -> WebhookReceiver {
        let log = Log(statuses: statuses)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(Handler(log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return WebhookReceiver(channel: channel, log: log)
    }

    private init(channel: any Channel, log: Log) {
        self.channel = channel
        self.log = log
        self.port = channel.localAddress?.port ?? 0
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public var received: [Received] { log.state.withLock { $0.received } }

    public func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let log: Log
        private var head: HTTPRequestHead?
        private var body = ""

        init(log: Log) { self.log = log }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = ""
            case .body(let buffer):
                body += String(buffer: buffer)
            case .end:
                let status = log.record(
                    Received(method: head?.method.rawValue ?? "", contentType: head?.headers.first(name: "Content-Type"), body: body))
                var headers = HTTPHeaders()
                if status == WebhookReceiver.stall {
                    headers.add(name: "Content-Length", value: "100")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "x")))), promise: nil)
                    return
                }
                headers.add(name: "Content-Length", value: "0")
                if (300..<400).contains(status) { headers.add(name: "Location", value: "/moved") }
                let responseHead = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: Int(status)), headers: headers)
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
