import NIOCore

/// Holds the bytes of the read the HTTP parser is working through, and only while it does:
/// a parser error is raised inside that read, and `HTTPParserErrorHandler` looks at them to
/// say which header was bad. First in the pipeline; keeps a reference, never a copy.
///
/// Not `Sendable`: a channel handler lives on its channel's event loop only.
final class ReadBytesPeek: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private(set) var reading: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = unwrapInboundIn(data)
        context.fireChannelRead(data)
        reading = nil
    }
}
