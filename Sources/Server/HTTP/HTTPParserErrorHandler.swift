import Foundation
import HTTPTypes
import IntakeRuntime
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request that the HTTP/1.1 parser refused — headers over the limits of
/// `IntakeAPI.httpServer()`, a broken request line or chunk — with a problem like every other
/// error (`431 request-header-fields-too-large` or `400 malformed-request`, with an
/// `X-Request-Id`), instead of the server's bare `400`, then closes the connection (the parser
/// cannot find where the next request starts). Sits after the HTTP codecs; a response already
/// under way is left alone, and the error passes on as before.
///
/// Not `Sendable`: a channel handler lives on its channel's event loop only.
final class HTTPParserErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var responseOpen = false
    /// The bytes the parser is reading when it fails (see `ReadBytesPeek`).
    private let peek = ReadBytesPeek()

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            try context.pipeline.syncOperations.addHandler(peek, position: .first)
        } catch {
            // Without it a bad Idempotency-Key is answered as any malformed request.
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !responseOpen else {
            context.fireErrorCaught(error)
            return
        }
        let problem: Problem
        switch parserError {
        case .headerOverflow:
            problem = Problem(
                "request-header-fields-too-large", .requestHeaderFieldsTooLarge,
                title: "Request header fields too large", detail: "a header field or the header section is over the server's limit")
        default:
            // A control character in the Idempotency-Key is refused by the parser before the
            // route sees the key; API.md answers any key that is not printable ASCII with
            // `invalid-idempotency-key`, so the refusal names it.
            if peek.reading.map(Self.hasControlInIdempotencyKey) == true {
                problem = .invalidIdempotencyKey
            } else {
                problem = Problem("malformed-request", .badRequest, title: "Malformed request", detail: "the request is not valid HTTP/1.1")
            }
        }
        let body = problem.body()
        var head = HTTPResponse(status: problem.status)
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.contentLength] = String(body.count)
        head.headerFields[.connection] = "close"
        head.headerFields[.requestID] = UniqueID.uuid().lowercasedString
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        responseOpen = false
        context.close(promise: nil)
    }

    /// Whether `bytes` hold an `Idempotency-Key` header line (any case) whose value has a
    /// control character other than a tab.
    static func hasControlInIdempotencyKey(_ bytes: ByteBuffer) -> Bool {
        let name = Array("\nidempotency-key:".utf8)
        return bytes.withUnsafeReadableBytes { raw in
            var index = 0
            while index + name.count <= raw.count {
                var matches = true
                for offset in 0..<name.count where raw[index + offset] | (offset == 0 ? 0 : 0x20) != name[offset] {
                    matches = false
                    break
                }
                if matches {
                    var value = index + name.count
                    while value < raw.count, raw[value] != UInt8(ascii: "\r"), raw[value] != UInt8(ascii: "\n") {
                        if (raw[value] < 0x20 && raw[value] != 0x09) || raw[value] == 0x7F { return true }
                        value += 1
                    }
                }
                index += 1
            }
            return false
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responseOpen = true
        case .end: responseOpen = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
