import Logging
import NIOCore
import NIOHTTP1

/// Routes each request to an endpoint and writes its response; one request at a time per
/// connection (`HTTPServerPipelineHandler`, installed before it, holds back pipelined ones).
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: Router
    private var request: HTTPRequest?
    /// Requests whose responses are being prepared off the channel.
    private var pendingResponses = 0

    init(router: Router) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = HTTPRequest(head: head, remoteAddress: context.channel.remoteAddress?.ipAddress)
        case .body(var chunk):
            // Bodies are kept up to the limit; past it only the fact is kept, and the request
            // is answered 413 once it has been read to the end. Mutated in place through the
            // optional: a copy of the request would copy the buffer on every chunk.
            guard request != nil else { return }
            let size = (request?.body?.readableBytes ?? 0) + chunk.readableBytes
            if size > HTTPRequest.maximumBodySize {
                request?.body = nil
                request?.bodyTooLarge = true
            } else if request?.bodyTooLarge == false {
                if request?.body == nil {
                    request?.body = chunk
                } else {
                    request?.body?.writeBuffer(&chunk)
                }
            }
        case .end:
            guard let request else { return }
            self.request = nil
            let response = router.respond(to: request, on: context.eventLoop)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pendingResponses += 1
            response.hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = bound.value
                handler.pendingResponses -= 1
                switch result {
                case .success(let response):
                    handler.write(response, for: request, context: context)
                case .failure:
                    handler.write(.text(.internalServerError, "internal error: see the server log"), for: request, context: context)
                }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // IdleStateHandler: nothing arrived for the idle timeout. Close, unless a request is
        // still being read or answered; the timer fires again if the connection stays silent.
        if event is IdleStateHandler.IdleStateEvent, request == nil, pendingResponses == 0 {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func write(_ response: HTTPResponse, for request: HTTPRequest, context: ChannelHandlerContext) {
        let keepAlive = request.head.isKeepAlive
        var headers = response.headers
        // A 304 describes the full response without sending it: no length of its own.
        if response.status != .notModified {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
        }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: request.head.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.head.method != .HEAD, let body = response.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> {
        eventLoop.makePromise(of: Void.self)
    }
}
