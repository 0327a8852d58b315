import Logging
import NIOCore
import NIOHTTP1

/// Bounds the requests one connection may have waiting for their responses. Requests are
/// answered one at a time and pipelined ones wait in memory, so a client that sends faster than
/// it is answered would make the server hold them all. Once `pauseAt` wait, the connection is not
/// read until responses catch up; a connection that still exceeds `maximum` (one read can carry
/// thousands of small requests) is closed.
final class PipeliningLimit: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let maximum: Int
    private let pauseAt: Int
    private let metrics: ServerMetrics
    private let logger: Logger
    private var unanswered = 0
    private var readPending = false
    private var closing = false

    init(maximum: Int, metrics: ServerMetrics, logger: Logger) {
        precondition(maximum > 0, "the pipelining limit must be positive")
        self.maximum = maximum
        self.metrics = metrics
        self.pauseAt = min(16, maximum)
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        if case .head = unwrapInboundIn(data) {
            unanswered += 1
            if unanswered > maximum {
                closing = true
                metrics.refusedConnection("pipelining")
                logger.notice("closing a connection that pipelined too many requests", metadata: [
                    "remote": "\(context.channel.remoteAddress?.ipAddress ?? "-")", "limit": "\(maximum)",
                ])
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if unanswered >= pauseAt {
            readPending = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard case .end = unwrapOutboundIn(data) else { return }
        unanswered -= 1
        if readPending && unanswered < pauseAt {
            readPending = false
            context.read()
        }
    }
}
