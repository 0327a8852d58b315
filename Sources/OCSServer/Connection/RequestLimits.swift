import Logging
import NIOCore
import NIOHTTP1

/// Bounds what one client can make a connection hold, by following each request from the
/// decoder to the end of its response:
///
/// - **Time.** The head must be complete within `header` of its first bytes, the body within
///   `body` of the head. A client that misses either gets `408` (when no other response is due
///   first) and the connection is closed. The idle timeout alone does not do this: a client that
///   trickles a byte at a time is never idle.
/// - **Requests waiting.** Requests are answered one at a time and pipelined ones wait in memory,
///   so a client that sends faster than it is answered would make the server hold them all. Once
///   `pauseAt` wait, the connection is not read until responses catch up; a connection that still
///   exceeds `maximumWaiting` (one read can carry thousands of small requests) is closed.
///
/// Both follow the same count of requests received and not yet answered, so one handler keeps
/// it (two handlers did, each casting every request and response part on its way through).
/// Sits right after the request decoder, so it sees every request as soon as it is decoded,
/// pipelined ones included, and every response on its way out.
final class RequestLimits: ChannelDuplexHandler, RemovableChannelHandler {
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
        /// Closed for pipelining too many requests: nothing more is passed on.
        case closing
    }

    private let timeouts: Timeouts
    private let maximumWaiting: Int
    private let pauseAt: Int
    private let metrics: ServerMetrics
    private let logger: Logger
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
    /// A `read()` held back while `pauseAt` requests wait.
    private var readPending = false

    init(timeouts: Timeouts, maximumWaiting: Int, metrics: ServerMetrics, logger: Logger) {
        precondition(maximumWaiting > 0, "the pipelining limit must be positive")
        self.timeouts = timeouts
        self.maximumWaiting = maximumWaiting
        pauseAt = min(16, maximumWaiting)
        self.metrics = metrics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closing else { return }
        decodedSinceReadComplete = true
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            guard unanswered <= maximumWaiting else { return closeForPipelining(context) }
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
            cancelDeadline()
            state = .receivingHead
            schedule(at: context.eventLoop.now + timeouts.header, context: context)
        } else if state == .receivingBody, deadline == nil, let bodyDeadline {
            schedule(at: bodyDeadline, context: context)
        }
        decodedSinceReadComplete = false
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if unanswered >= pauseAt {
            readPending = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            responseStarted = true
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseStarted = false
            unanswered -= 1
            context.write(data, promise: promise)
            if readPending && unanswered < pauseAt {
                readPending = false
                context.read()
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    private func closeForPipelining(_ context: ChannelHandlerContext) {
        state = .closing
        cancelDeadline()
        metrics.refusedConnection("pipelining")
        logger.notice("closing a connection that pipelined too many requests", metadata: [
            "remote": "\(context.channel.remoteAddress?.ipAddress ?? "-")", "limit": "\(maximumWaiting)",
        ])
        context.close(promise: nil)
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
