import NIOCore
import NIOHTTP1

/// Where one connection's current request stands, and every move it can make: admission at the
/// head, body collection, the response, refusals. `HTTPRequestHandler` reports each event here
/// and performs the `Action` it gets back, as NIO's `HTTPServerPipelineHandler` and upgraders do.
/// Each transition checks the state it starts from: request parts in an order the decoder and
/// `HTTPServerPipelineHandler` never deliver close the connection (`closeAfterViolation`), and
/// the handler's own callbacks (admission, response) in a state that cannot await them are a
/// precondition failure. The state changes before the action is performed, so an event the
/// action causes (writing a response's end delivers a pipelined request at once) meets the
/// state it should.
///
/// Values: copies of request heads and responses, no closures or existentials, so a poll's
/// transitions allocate nothing.
struct HTTPRequestStateMachine {
    /// A request, with what its answer is logged and counted under.
    struct Exchange {
        var request: HTTPRequest
        /// When its head arrived, for the access log and the request duration.
        let started: NIODeadline
        /// Where it went, for metrics: `refused` until an endpoint admits it.
        var route = Route.refused
    }

    enum State {
        /// Waiting for a request head.
        case idle
        /// The head is in; the router is deciding, maybe off the event loop (an API token
        /// lookup). `ended`: the whole request arrived meanwhile.
        case admitting(Exchange, ended: Bool)
        /// Admitted: collecting the body up to `HTTPRequest.maximumBodySize`.
        case receiving(Exchange, Endpoint)
        /// Refused, with no body to come: `answer` is sent at the request's end and the
        /// connection stays open. (A refused request with a body is answered at once and closes.)
        case discarding(Exchange, answer: HTTPResponse)
        /// Complete; the endpoint is preparing the response. The body is no longer held here.
        case responding(Exchange)
        /// Closing after a refusal, an error or an idle timeout: what still arrives is dropped
        /// and nothing more is answered.
        case closing
        /// Only inside a transition, so a body is appended to a buffer this enum no longer
        /// references, in place rather than copied.
        case modifying
    }

    enum Action {
        /// Nothing until the next event.
        case nothing
        /// Ask the router about this head; report its decision with `admitted` or `refused`.
        case admit(HTTPRequestHead)
        /// Have the endpoint answer the complete request; report it with `responseReady`.
        case respond(HTTPRequest, Endpoint)
        /// Write this response to the exchange; `closing` closes the connection after it,
        /// without reading what is left of the request.
        case write(HTTPResponse, Exchange, closing: Bool)
        /// The body grew past `HTTPRequest.maximumBodySize`: answer `413` and close.
        case refuseOversizedBody(Exchange)
        /// Close the connection now.
        case close
        /// A request part came where none can: nothing on this connection is to be trusted. Close it.
        case closeAfterViolation(StaticString)
    }

    private(set) var state = State.idle

    mutating func headReceived(_ request: HTTPRequest, at started: NIODeadline) -> Action {
        switch state {
        case .idle:
            state = .admitting(Exchange(request: request, started: started), ended: false)
            return .admit(request.head)
        case .closing:
            // Pipelined behind a request that closes the connection.
            return .nothing
        case .admitting, .receiving, .discarding, .responding:
            return violation("a request head before the previous request was complete and answered")
        case .modifying:
            preconditionFailure("request head received in the middle of a transition")
        }
    }

    /// The router admitted the request at `endpoint`.
    mutating func admitted(to endpoint: Endpoint) -> Action {
        switch state {
        case .admitting(var exchange, let ended):
            exchange.route = endpoint.route
            guard ended else {
                state = .receiving(exchange, endpoint)
                return .nothing
            }
            return respond(exchange, with: endpoint)
        case .closing:
            // The connection failed while the decision was made off the loop.
            return .nothing
        case .idle, .receiving, .discarding, .responding, .modifying:
            preconditionFailure("admitted in state \(state): only a request head waits for admission")
        }
    }

    /// The router refused the request with `response`.
    mutating func refused(with response: HTTPResponse) -> Action {
        switch state {
        case .admitting(let exchange, let ended):
            if ended {
                state = .idle
                return .write(response, exchange, closing: false)
            }
            guard exchange.request.head.announcesBody else {
                state = .discarding(exchange, answer: response)
                return .nothing
            }
            // A body is never read for a refused request: answer now and close.
            state = .closing
            return .write(response, exchange, closing: true)
        case .closing:
            return .nothing
        case .idle, .receiving, .discarding, .responding, .modifying:
            preconditionFailure("refused in state \(state): only a request head waits for admission")
        }
    }

    mutating func bodyReceived(_ chunk: ByteBuffer) -> Action {
        switch state {
        case .receiving(var exchange, let endpoint):
            state = .modifying
            guard exchange.request.append(chunk) else { return refuseOversizedBody(exchange) }
            state = .receiving(exchange, endpoint)
            return .nothing
        case .admitting(var exchange, ended: false):
            // Collected while the admission is decided off the loop.
            state = .modifying
            guard exchange.request.append(chunk) else { return refuseOversizedBody(exchange) }
            state = .admitting(exchange, ended: false)
            return .nothing
        case .closing:
            // The unread body of a refused request.
            return .nothing
        case .admitting(_, ended: true), .responding:
            return violation("a body part after the request's end")
        case .idle:
            return violation("a body part without a request head")
        case .discarding:
            return violation("a body part of a request that announced none")
        case .modifying:
            preconditionFailure("body part received in the middle of a transition")
        }
    }

    mutating func endReceived() -> Action {
        switch state {
        case .receiving(let exchange, let endpoint):
            return respond(exchange, with: endpoint)
        case .admitting(let exchange, ended: false):
            state = .admitting(exchange, ended: true)
            return .nothing
        case .discarding(let exchange, let answer):
            state = .idle
            return .write(answer, exchange, closing: false)
        case .closing:
            return .nothing
        case .admitting(_, ended: true), .responding:
            return violation("a second end of one request")
        case .idle:
            return violation("a request end without a request head")
        case .modifying:
            preconditionFailure("request end received in the middle of a transition")
        }
    }

    /// The endpoint's response to the request in `responding` is ready.
    mutating func responseReady(_ response: HTTPResponse) -> Action {
        switch state {
        case .responding(let exchange):
            state = .idle
            return .write(response, exchange, closing: false)
        case .closing:
            // The connection failed while the response was prepared.
            return .nothing
        case .idle, .admitting, .receiving, .discarding, .modifying:
            preconditionFailure("response ready in state \(state): only a complete request waits for one")
        }
    }

    /// A reset, a failed write, TLS: nothing more can be said on this connection.
    mutating func errorCaught() -> Action {
        if case .modifying = state { preconditionFailure("error caught in the middle of a transition") }
        state = .closing
        return .close
    }

    /// Nothing arrived for the idle timeout. Only a connection between requests closes; a request
    /// in progress is bounded by its own deadlines (`RequestLimits`).
    mutating func idleTimeoutPassed() -> Action {
        switch state {
        case .idle:
            state = .closing
            return .close
        case .admitting, .receiving, .discarding, .responding, .closing:
            return .nothing
        case .modifying:
            preconditionFailure("idle timeout in the middle of a transition")
        }
    }

    private mutating func respond(_ exchange: Exchange, with endpoint: Endpoint) -> Action {
        let request = exchange.request
        var answering = exchange
        answering.request.body = nil
        state = .responding(answering)
        return .respond(request, endpoint)
    }

    private mutating func refuseOversizedBody(_ exchange: Exchange) -> Action {
        state = .closing
        return .refuseOversizedBody(exchange)
    }

    private mutating func violation(_ message: StaticString) -> Action {
        state = .closing
        return .closeAfterViolation(message)
    }
}

extension HTTPRequest {
    /// Appends a body chunk, unless the body would grow past `maximumBodySize`.
    mutating func append(_ chunk: ByteBuffer) -> Bool {
        guard (body?.readableBytes ?? 0) + chunk.readableBytes <= Self.maximumBodySize else { return false }
        if body == nil {
            body = chunk
        } else {
            var chunk = chunk
            body!.writeBuffer(&chunk)
        }
        return true
    }
}
