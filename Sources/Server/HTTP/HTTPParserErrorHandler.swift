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
            problem = Problem("malformed-request", .badRequest, title: "Malformed request", detail: "the request is not valid HTTP/1.1")
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

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responseOpen = true
        case .end: responseOpen = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
