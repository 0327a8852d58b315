#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore

/// Decides when the listener accepts: not while `maximum` connections are open, and not for a
/// second after `accept` failed for lack of descriptors or memory. Meanwhile new clients wait in
/// the kernel's listen backlog. Installed on the server channel, whose inbound messages are the
/// accepted connections.
///
/// It pauses by turning the listener's `autoRead` off, which stops the event loop watching the
/// listening socket. Holding back `read()`, as NIO's `AcceptBackoffHandler` does, is not enough
/// after a failed `accept`: the channel still has a read pending and the socket stays readable,
/// so the loop retries `accept` at once, again and again, on a whole core.
final class AcceptGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    /// How long accepting pauses after running out of descriptors.
    static let backoff: TimeAmount = .seconds(1)

    private let maximum: Int
    private let metrics: ServerMetrics
    private let logger: Logger
    private var open = 0
    private var accepting = true
    private var backoff: Scheduled<Void>?
    /// Whether the last `accept` failed for lack of resources; logged once per episode.
    private var exhausted = false

    init(maximum: Int, metrics: ServerMetrics, logger: Logger) {
        precondition(maximum > 0, "the connection cap must be positive")
        self.maximum = maximum
        self.metrics = metrics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let connection = unwrapInboundIn(data)
        if exhausted {
            exhausted = false
            logger.notice("accepting connections again")
        }
        open += 1
        metrics.openConnections.increment()
        if open == maximum {
            logger.warning("connection cap reached: new connections wait until one closes", metadata: ["max-connections": "\(maximum)"])
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        connection.closeFuture.hop(to: context.eventLoop).whenComplete { _ in
            let (gate, context) = bound.value
            gate.open -= 1
            gate.metrics.openConnections.decrement()
            gate.update(context)
        }
        update(context)
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        metrics.refusedConnection("descriptors")
        if !exhausted {
            exhausted = true
            logger.error("cannot accept connections: \(error.description); retrying each second (raise ulimit -n or lower --max-connections)")
        }
        backoff?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        backoff = context.eventLoop.scheduleTask(in: Self.backoff) {
            let (gate, context) = bound.value
            gate.backoff = nil
            gate.update(context)
        }
        update(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        backoff?.cancel()
        backoff = nil
    }

    private func update(_ context: ChannelHandlerContext) {
        let shouldAccept = open < maximum && backoff == nil
        guard shouldAccept != accepting, context.channel.isActive else { return }
        accepting = shouldAccept
        try? context.channel.syncOptions?.setOption(.autoRead, value: shouldAccept)
    }
}
