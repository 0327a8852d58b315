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
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        /// The head is in; the router is deciding off the event loop (an API token lookup).
        case admitting(HTTPRequest, ended: Bool)
        /// Admitted: collecting the body up to `HTTPRequest.maximumBodySize`.
        case receiving(HTTPRequest, Endpoint)
        /// Refused; what is left of the request is dropped. `answer` is sent at the request's
        /// end when it has no body; a request with a body was answered at once.
        case discarding(HTTPRequest, answer: HTTPResponse?)
        /// Complete; the response is being prepared off the channel.
        case responding
        /// The connection is being closed after an answer.
        case closing
    }

    /// How long a refused request's body is drained after the answer, so the client reads the
    /// answer instead of a connection reset.
    static let lingerAfterRefusal: TimeAmount = .seconds(2)

    private let router: Router
    private let accessLog: AccessLog
    private let metrics: ServerMetrics
    /// The route of the current request, for metrics: set at admission.
    private var route = Route.refused
    private var state = State.idle
    /// When the current request's head arrived, for the access log.
    private var started = NIODeadline.now()
    /// The peer's address as text, formatted once per connection rather than per request.
    private var remoteAddress: String??

    init(router: Router, accessLog: AccessLog, metrics: ServerMetrics) {
        self.router = router
        self.accessLog = accessLog
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            received(head, context: context)
        case .body(var chunk):
            switch state {
            case .receiving(var request, let endpoint):
                state = .responding  // drop the enum's reference so the buffer is appended in place
                if append(&chunk, to: &request, context: context) { state = .receiving(request, endpoint) }
            case .admitting(var request, let ended):
                state = .responding
                if append(&chunk, to: &request, context: context) { state = .admitting(request, ended: ended) }
            case .idle, .discarding, .responding, .closing:
                break
            }
        case .end:
            switch state {
            case .receiving(let request, let endpoint):
                respond(to: request, with: endpoint, context: context)
            case .admitting(let request, _):
                state = .admitting(request, ended: true)
            case .discarding(let request, let answer):
                state = .idle
                if let answer { write(answer, for: request, context: context) }
            case .idle, .responding, .closing:
                break
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // IdleStateHandler: nothing arrived for the idle timeout. Close unless a request is in
        // progress (its own deadlines bound it); the timer fires again if the connection stays silent.
        if event is IdleStateHandler.IdleStateEvent, case .idle = state {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError { metrics.tlsHandshakeFailures.increment() }
        // A reset, a failed write or TLS: nothing more can be said on this connection.
        state = .closing
        context.close(promise: nil)
    }

    // MARK: Admission

    private func received(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        started = .now()
        route = .refused
        let request = HTTPRequest(head: head, remoteAddress: peer(context))
        switch router.admit(head, on: context.eventLoop) {
        case .accept(let endpoint):
            route = endpoint.route
            state = .receiving(request, endpoint)
        case .refuse(let response):
            refuse(request, with: response, ended: false, context: context)
        case .decideLater(let decision):
            state = .admitting(request, ended: false)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            decision.hop(to: context.eventLoop).whenSuccess { admission in
                let (handler, context) = bound.value
                handler.decided(admission, context: context)
            }
        }
    }

    private func decided(_ admission: Admission, context: ChannelHandlerContext) {
        guard case .admitting(let request, let ended) = state else { return }
        switch admission {
        case .accept(let endpoint):
            route = endpoint.route
            state = .receiving(request, endpoint)
            if ended { respond(to: request, with: endpoint, context: context) }
        case .refuse(let response):
            refuse(request, with: response, ended: ended, context: context)
        case .decideLater:
            preconditionFailure("a deferred admission decides")
        }
    }

    /// Answers a request the router will not take. Without a body still to come, the answer
    /// waits for the request's end and the connection stays open; with one, the answer goes out
    /// now and the connection closes without reading the body.
    private func refuse(_ request: HTTPRequest, with response: HTTPResponse, ended: Bool, context: ChannelHandlerContext) {
        if ended {
            state = .idle
            write(response, for: request, context: context)
        } else if !request.head.announcesBody {
            state = .discarding(request, answer: response)
        } else {
            state = .discarding(request, answer: nil)
            write(response, for: request, closing: true, context: context)
        }
    }

    /// Appends a body chunk; past the limit the request is refused and `false` returned.
    private func append(_ chunk: inout ByteBuffer, to request: inout HTTPRequest, context: ChannelHandlerContext) -> Bool {
        guard (request.body?.readableBytes ?? 0) + chunk.readableBytes <= HTTPRequest.maximumBodySize else {
            state = .discarding(request, answer: nil)
            let message = "the request body is larger than \(HTTPRequest.maximumBodySize) bytes"
            write(router.refusal(.payloadTooLarge, message, for: request.head), for: request, closing: true, context: context)
            return false
        }
        if request.body == nil {
            request.body = chunk
        } else {
            request.body!.writeBuffer(&chunk)
        }
        return true
    }

    // MARK: Responses

    private func peer(_ context: ChannelHandlerContext) -> String? {
        if let remoteAddress { return remoteAddress }
        let address = context.channel.remoteAddress?.ipAddress
        remoteAddress = .some(address)
        return address
    }

    private func respond(to request: HTTPRequest, with endpoint: Endpoint, context: ChannelHandlerContext) {
        state = .responding
        let later: EventLoopFuture<HTTPResponse>
        switch router.respond(to: request, with: endpoint, on: context.eventLoop) {
        case .now(let response):
            state = .idle
            write(response, for: request, context: context)
            return
        case .later(let future):
            later = future
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        later.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            guard case .responding = handler.state else { return }
            handler.state = .idle
            switch result {
            case .success(let response):
                handler.write(response, for: request, context: context)
            case .failure:
                handler.write(.text(.internalServerError, "internal error: see the server log"), for: request, context: context)
            }
        }
    }

    /// Writes a complete response. `closing` ends the connection after it: output first, so the
    /// client reads the answer, then, after a short drain of what it is still sending, all of it.
    /// `response` is consumed so its headers are extended in place, not copied.
    private func write(_ response: consuming HTTPResponse, for request: HTTPRequest, closing: Bool = false, context: ChannelHandlerContext) {
        // This request's start and route, read before the end is written: writing it lets
        // `HTTPServerPipelineHandler` deliver a pipelined request at once, which sets both anew.
        let started = self.started
        let route = self.route
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
        if route != .feed && !response.headers.contains(name: "Cache-Control") {
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
            bytes: request.head.method == .HEAD ? 0 : response.body?.readableBytes ?? 0, started: started, hostKey: response.hostKey
        )
        metrics.request(route: route, duration: .now() - started)
        if route == .feed { metrics.poll(response.status) }
        guard let written else { return }
        let channel = context.channel
        if closing {
            state = .closing
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
