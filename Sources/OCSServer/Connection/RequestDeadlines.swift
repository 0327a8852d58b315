import NIOCore
import NIOHTTP1

/// Bounds how long a client may take to send a request: the head must be complete within
/// `header` of its first bytes, the body within `body` of the head. A client that misses either
/// gets `408` (when no other response is due first) and the connection is closed.
///
/// The idle timeout alone does not do this: a client that trickles a byte at a time is never
/// idle. Sits right after the request decoder, so it sees every request as soon as it is
/// decoded, pipelined ones included, and every response on its way out.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Timeouts: Sendable {
        var header: TimeAmount
        var body: TimeAmount
    }

    private enum State {
        /// No request is being received: the next bytes start a head.
        case betweenRequests
        case receivingHead
        case receivingBody
    }

    private let timeouts: Timeouts
    private let metrics: ServerMetrics
    private var state = State.betweenRequests
    /// Whether the decoder produced a request part since the last read completed. Bytes that
    /// produced none while between requests are the start of a head still in flight.
    private var decodedSinceReadComplete = false
    private var deadline: Scheduled<Void>?
    /// When the body of the request being received is due; its timer is scheduled only once a
    /// read ends with the request incomplete.
    private var bodyDeadline: NIODeadline?
    /// Request heads received and not yet answered in full.
    private var unanswered = 0
    private var responseStarted = false

    init(timeouts: Timeouts, metrics: ServerMetrics) {
        self.timeouts = timeouts
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        decodedSinceReadComplete = true
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            cancelDeadline()
            state = .receivingBody
            // The body's timer starts at the head but is scheduled only if the request is still
            // incomplete when this read is done: a GET's end arrives with its head, and a timer
            // scheduled and cancelled for every request cost more than the rest of this handler.
            bodyDeadline = context.eventLoop.now + timeouts.body
        case .body:
            break
        case .end:
            cancelDeadline()
            bodyDeadline = nil
            state = .betweenRequests
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if state == .betweenRequests && !decodedSinceReadComplete {
            start(.receivingHead, timeout: timeouts.header, context: context)
        } else if state == .receivingBody, deadline == nil, let bodyDeadline {
            schedule(at: bodyDeadline, context: context)
        }
        decodedSinceReadComplete = false
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            responseStarted = true
        case .body:
            break
        case .end:
            responseStarted = false
            unanswered -= 1
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    private func start(_ next: State, timeout: TimeAmount, context: ChannelHandlerContext) {
        cancelDeadline()
        state = next
        schedule(at: context.eventLoop.now + timeout, context: context)
    }

    private func schedule(at time: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(deadline: time) {
            let (handler, context) = bound.value
            handler.deadlinePassed(context: context)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }

    private func deadlinePassed(context: ChannelHandlerContext) {
        deadline = nil
        bodyDeadline = nil
        metrics.refusedConnection("timeout")
        // The late request is answered only when no earlier response is still owed, so
        // responses never go out of order; either way the connection is done.
        let lateRequests = state == .receivingBody ? 1 : 0
        guard unanswered == lateRequests, !responseStarted else {
            context.close(promise: nil)
            return
        }
        let part = state == .receivingHead ? "request head" : "request body"
        context.answerAndClose(.requestTimeout, "the \(part) did not arrive in time: send the whole request without pausing")
    }
}
