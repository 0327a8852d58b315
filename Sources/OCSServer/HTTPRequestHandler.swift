import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Takes each request through admission, body collection and its response, one request at a time
/// per connection (`HTTPServerPipelineHandler`, installed before it, holds back pipelined ones).
///
/// Admission happens at the head, before any body is read: the router refuses what it will not
/// take (an unknown path, a body where none belongs, an oversized or unauthenticated API call),
/// and a refused body is never read: the answer goes out at once and the connection closes.
///
/// Where the request stands is `HTTPRequestStateMachine`'s business: this handler reports each
/// event to it and performs the action it returns (asks the router, writes, closes).
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private typealias Action = HTTPRequestStateMachine.Action

    /// How long a refused request's body is drained after the answer, so the client reads the
    /// answer instead of a connection reset.
    static let lingerAfterRefusal: TimeAmount = .seconds(2)

    private let router: Router
    private let accessLog: AccessLog
    private let metrics: ServerMetrics
    private var machine = HTTPRequestStateMachine()
    /// The peer's address as text, formatted once per connection rather than per request.
    private var remoteAddress: String??
    /// Set once the handler is added: what the connection runs when it closes.
    private var closing: ConnectionClosing?

    init(router: Router, accessLog: AccessLog, metrics: ServerMetrics) {
        self.router = router
        self.accessLog = accessLog
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        closing = ConnectionClosing(eventLoop: context.eventLoop)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing?.closed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var request = HTTPRequest(head: head, remoteAddress: peer(context))
            request.connection = closing
            perform(machine.headReceived(request, at: .now()), context: context)
        case .body(let chunk):
            perform(machine.bodyReceived(chunk), context: context)
        case .end:
            perform(machine.endReceived(), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // IdleStateHandler: nothing arrived for the idle timeout. The state machine closes only a
        // connection between requests; otherwise the timer fires again if it stays silent.
        if event is IdleStateHandler.IdleStateEvent, case .close = machine.idleTimeoutPassed() {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError { metrics.tlsHandshakeFailures.increment() }
        perform(machine.errorCaught(), context: context)
    }

    private func perform(_ action: Action, context: ChannelHandlerContext) {
        switch action {
        case .nothing:
            break
        case .admit(let head):
            admit(router.admit(head, on: context.eventLoop), context: context)
        case .respond(let request, let endpoint):
            respond(to: request, with: endpoint, context: context)
        case .write(let response, let exchange, let closing):
            write(response, for: exchange, closing: closing, context: context)
        case .refuseOversizedBody(let exchange):
            let message = "the request body is larger than \(HTTPRequest.maximumBodySize) bytes"
            write(router.refusal(.payloadTooLarge, message, for: exchange.request.head), for: exchange, closing: true, context: context)
        case .close, .closeAfterViolation:
            context.close(promise: nil)
        }
    }

    // MARK: Admission

    /// Hands the router's decision on a head to the state machine, once it is made.
    private func admit(_ admission: Admission, context: ChannelHandlerContext) {
        switch admission {
        case .accept(let endpoint):
            perform(machine.admitted(to: endpoint), context: context)
        case .refuse(let response):
            perform(machine.refused(with: response), context: context)
        case .decideLater(let decision):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            decision.hop(to: context.eventLoop).whenSuccess { admission in
                let (handler, context) = bound.value
                handler.admit(admission, context: context)
            }
        }
    }

    // MARK: Responses

    private func peer(_ context: ChannelHandlerContext) -> String? {
        if let remoteAddress { return remoteAddress }
        let address = context.channel.remoteAddress?.ipAddress
        remoteAddress = .some(address)
        return address
    }

    private func respond(to request: HTTPRequest, with endpoint: Endpoint, context: ChannelHandlerContext) {
        switch router.respond(to: request, with: endpoint, on: context.eventLoop) {
        case .now(let response):
            perform(machine.responseReady(response), context: context)
        case .later(let future):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            future.hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = bound.value
                let response: HTTPResponse
                switch result {
                case .success(let made): response = made
                case .failure: response = .text(.internalServerError, "internal error: see the server log")
                }
                handler.perform(handler.machine.responseReady(response), context: context)
            }
        }
    }

    /// Writes a complete response. `closing` ends the connection after it: output first, so the
    /// client reads the answer, then, after a short drain of what it is still sending, all of it.
    /// `response` is consumed so its headers are extended in place, not copied. The exchange's
    /// start and route come with the action, so a pipelined request that writing the end
    /// delivers at once cannot be counted in its place.
    private func write(_ response: consuming HTTPResponse, for exchange: HTTPRequestStateMachine.Exchange, closing: Bool, context: ChannelHandlerContext) {
        let request = exchange.request
        let keepAlive = request.head.isKeepAlive && !closing
        // A 304 describes the full response without sending it: no length of its own. Endpoints
        // set the length only in headers prepared with it; otherwise it is added here, not
        // searched for and replaced.
        if response.status != .notModified && !response.includesContentLength {
            response.headers.add(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
        }
        if !keepAlive { response.headers.replaceOrAdd(name: "Connection", value: "close") }
        // The one place answers are kept out of caches: the API's (a new token among them), the
        // dashboard's pages, health, metrics and refusals say nothing of caching themselves. Feeds
        // and the dashboard's static files do, and a poll is not searched.
        if exchange.route != .feed && !response.headers.contains(name: "Cache-Control") {
            response.headers.add(name: "Cache-Control", value: "no-store")
        }
        let head = HTTPResponseHead(version: request.head.version, status: response.status, headers: response.headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.head.method != .HEAD, let body = response.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        // A kept-alive connection waits for nothing after the write: no promise to allocate.
        let written: EventLoopFuture<Void>?
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            written = nil
        } else {
            written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        }
        accessLog.record(
            request.head, remoteAddress: request.remoteAddress, status: response.status,
            bytes: request.head.method == .HEAD ? 0 : response.body?.readableBytes ?? 0, started: exchange.started, hostKey: response.hostKey
        )
        if !response.wasHeld { metrics.request(route: exchange.route, duration: .now() - exchange.started) }
        if exchange.route == .feed { metrics.poll(response.status) }
        guard let written else { return }
        let channel = context.channel
        if closing {
            written.flatMap { channel.close(mode: .output) }.whenComplete { result in
                if case .failure = result { channel.close(promise: nil); return }
                channel.eventLoop.scheduleTask(in: Self.lingerAfterRefusal) { channel.close(promise: nil) }
            }
        } else {
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension HTTPRequestHead {
    /// Whether a body follows the head (RFC 9112 §6.3): a non-zero `Content-Length` or any
    /// `Transfer-Encoding`. The decoder has already refused a request carrying both.
    var announcesBody: Bool {
        if headers.contains(name: "Transfer-Encoding") { return true }
        guard let length = contentLength else { return false }
        return length > 0
    }

    /// The `Content-Length` the client announced, if any.
    var contentLength: Int? {
        headers.first(name: "Content-Length").flatMap { Int($0) }
    }
}
