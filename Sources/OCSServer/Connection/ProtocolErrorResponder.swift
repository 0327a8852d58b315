import NIOCore
import NIOHTTP1

/// Answers a request the decoder cannot parse (no HTTP version, `HTTP/2.0`, a malformed header)
/// with one `400`, then closes the connection: after a parse error the byte stream has no
/// request boundaries left to trust. Stands where NIO's `HTTPServerProtocolErrorHandler` would,
/// which answers every repeat of the error and leaves closing to someone else.
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServerMetrics
    private var responseStarted = false
    private var failed = false

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Whatever the decoder salvaged after the error is not a request.
        guard !failed else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !failed else { return }
        failed = true
        metrics.refusedConnection("protocol")
        guard !responseStarted else {
            // Half a response is on the wire; a 400 cannot follow it.
            context.close(promise: nil)
            return
        }
        context.answerAndClose(.badRequest, "malformed HTTP/1.1 request: \(error)")
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !failed else {
            // The handler after this one may still answer a request it received before the
            // error; the connection is closing and that answer would follow the 400.
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head: responseStarted = true
        case .end: responseStarted = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
