import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A minimal HTTP/1.1 client for one request per connection (a GET as the EM service polls, or
/// enrollment's POST): plain HTTP or
/// HTTPS (trusting only the given CA when one is given), through an HTTP CONNECT proxy when one is
/// given, with one deadline covering connect, TLS handshake, request and response.
public struct FeedFetcher: Sendable {
    /// A response read in full.
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public let timeout: TimeAmount
    /// The roots trusted for HTTPS; `nil` uses the system's.
    public let trustRoots: [NIOSSLCertificate]?
    /// `http://host:port` of an HTTP CONNECT proxy.
    public let proxy: URL?
    public let maximumBodyBytes: Int
    let sslContext: NIOSSLContext?

    public init(timeout: TimeAmount = .seconds(30), trustRoots: [NIOSSLCertificate]? = nil, proxy: URL? = nil, maximumBodyBytes: Int = 8 << 20) throws(AgentError) {
        self.timeout = timeout
        self.trustRoots = trustRoots
        self.proxy = proxy
        self.maximumBodyBytes = maximumBodyBytes
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRoots { configuration.trustRoots = .certificates(trustRoots) }
        do {
            sslContext = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .tls("cannot set up TLS: \(error)")
        }
        if let proxy, proxy.scheme?.lowercased() != "http" || proxy.host == nil {
            throw .invalidURL("the proxy must be http://host:port, not '\(proxy.absoluteString)'")
        }
    }

    /// The certificates in a PEM file, for `trustRoots`.
    public static func certificates(inPEMFile path: String) throws(AgentError) -> [NIOSSLCertificate] {
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(path)
            guard !certificates.isEmpty else { throw AgentError.tls("\(path): no certificate in the file") }
            return certificates
        } catch let error as AgentError {
            throw error
        } catch {
            throw .tls("\(path): cannot read the CA certificate: \(error)")
        }
    }

    /// The proxy named by `HTTPS_PROXY` / `https_proxy` (or `HTTP_PROXY` for a plain-HTTP server), unless `NO_PROXY` lists the host.
    public static func proxyFromEnvironment(for url: URL, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let names = url.scheme?.lowercased() == "https" ? ["HTTPS_PROXY", "https_proxy"] : ["HTTP_PROXY", "http_proxy"]
        guard let value = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else { return nil }
        let noProxy = (environment["NO_PROXY"] ?? environment["no_proxy"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if let host = url.host?.lowercased(), noProxy.contains(where: { $0 == "*" || $0 == host || (!$0.isEmpty && host.hasSuffix("." + $0.trimmingCharacters(in: CharacterSet(charactersIn: ".")))) }) {
            return nil
        }
        return URL(string: value.contains("://") ? value : "http://" + value)
    }

    /// GETs `url` on a fresh connection and reads the whole response.
    /// GETs `url` on a fresh connection and reads the whole response. `waiting`: how long the
    /// server may hold the request on purpose (a poll that waits for a change), allowed on top of
    /// `timeout` for the response.
    public func get(_ url: URL, headers extraHeaders: [(String, String)] = [], waiting: TimeAmount = .zero) async throws(AgentError) -> Response {
        try await send(.GET, url, headers: extraHeaders, body: nil, waiting: waiting)
    }

    /// POSTs a JSON `body` to `url` on a fresh connection and reads the whole response.
    public func post(_ url: URL, json body: [UInt8], headers extraHeaders: [(String, String)] = []) async throws(AgentError) -> Response {
        try await send(.POST, url, headers: [("Content-Type", "application/json")] + extraHeaders, body: body, waiting: .zero)
    }

    private func send(
        _ method: HTTPMethod, _ url: URL, headers extraHeaders: [(String, String)], body requestBody: [UInt8]?, waiting: TimeAmount
    ) async throws(AgentError) -> Response {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw .invalidURL("'\(url.absoluteString)' is not an http:// or https:// URL")
        }
        let tls = scheme == "https"
        let port = url.port ?? (tls ? 443 : 80)
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        head.headers.add(name: "Host", value: hostHeader)
        head.headers.add(name: "User-Agent", value: "ocs-agent")
        head.headers.add(name: "Accept", value: method == .GET ? "application/xml" : "application/json")
        if let requestBody { head.headers.add(name: "Content-Length", value: String(requestBody.count)) }
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in extraHeaders { head.headers.add(name: name, value: value) }

        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: Response.self)
        let completion = Completion(promise)
        let tlsHandlerFactory: (@Sendable () throws -> NIOSSLClientHandler)? = tls ? { @Sendable [sslContext] in
            // An IP address is checked against the certificate's IP addresses; a name is sent as SNI.
            let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
            return try NIOSSLClientHandler(context: sslContext!, serverHostname: isAddress ? nil : host)
        } : nil
        let limit = maximumBodyBytes
        let requestHead = head
        let tunnelTarget = proxy.map { _ in "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                do {
                    let operations = channel.pipeline.syncOperations
                    let exchange: @Sendable (Channel) throws -> Void = { channel in
                        let operations = channel.pipeline.syncOperations
                        if let tlsHandlerFactory { try operations.addHandler(tlsHandlerFactory()) }
                        try operations.addHTTPClientHandlers()
                        try operations.addHandler(ResponseCollector(head: requestHead, body: requestBody, limit: limit, completion: completion))
                    }
                    if let tunnelTarget {
                        try ConnectTunnel.add(to: operations, target: tunnelTarget, completion: completion, then: exchange)
                    } else {
                        try exchange(channel)
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let allowed = timeout + waiting
        let deadline = eventLoop.scheduleTask(in: allowed) {
            completion.finish(.failure(AgentError.timeout("no complete response within \(Self.describe(allowed))")))
        }
        defer { deadline.cancel() }
        let connectHost = proxy?.host ?? host
        let connectPort = proxy.map { $0.port ?? 80 } ?? port
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: connectHost, port: connectPort).get()
        } catch {
            eventLoop.execute { completion.finish(.failure(error)) }
            let what = proxy == nil ? "\(host):\(port)" : "the proxy \(connectHost):\(connectPort)"
            if error is ChannelError, case .connectTimeout = error as! ChannelError {
                throw .unreachable("\(what): no connection within \(Self.describe(timeout))")
            }
            throw .unreachable("\(what): \(error)")
        }
        eventLoop.execute { completion.channel = channel }
        do {
            let response = try await promise.futureResult.get()
            channel.close(promise: nil)
            return response
        } catch {
            channel.close(promise: nil)
            if let error = error as? AgentError { throw error }
            if let failure = Self.tlsFailure(error, host: host) { throw .tls("\(host):\(port): \(failure)") }
            throw .unreachable("\(host):\(port): \(error)")
        }
    }

    /// A TLS failure worded for a person: what failed, then the TLS library's own detail. Nil for
    /// an error that is not TLS's.
    static func tlsFailure(_ error: any Error, host: String) -> String? {
        let detail = "\(error)"
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "hostname mismatch: the server's certificate does not name \(host): \(detail)"
        }
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        // BoringSSL's reason for a chain that reaches no trusted root (or an expired certificate).
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return "certificate not trusted: the server's certificate does not chain to the trusted CA (--tls-ca, else the system's roots), or is expired: \(detail)"
        }
        return "handshake failed: \(detail)"
    }

    static func describe(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// The request's outcome, completed once, on its event loop.
final class Completion: @unchecked Sendable {
    private let promise: EventLoopPromise<FeedFetcher.Response>
    private var done = false
    /// The connection, closed when the request fails; touched only on the event loop.
    var channel: Channel?

    init(_ promise: EventLoopPromise<FeedFetcher.Response>) {
        self.promise = promise
    }

    func finish(_ result: Result<FeedFetcher.Response, Error>) {
        promise.futureResult.eventLoop.preconditionInEventLoop()
        guard !done else { return }
        done = true
        promise.completeWith(result)
        if case .failure = result { channel?.close(promise: nil) }
    }
}

/// Sends the request and gathers the response; any error or an early close fails it.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let requestBody: [UInt8]?
    private let limit: Int
    private let completion: Completion
    private var responseHead: HTTPResponseHead?
    private var body: [UInt8] = []
    private var sent = false

    init(head: HTTPRequestHead, body: [UInt8]?, limit: Int, completion: Completion) {
        self.head = head
        requestBody = body
        self.limit = limit
        self.completion = completion
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let requestBody { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: requestBody)))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            responseHead = head
        case .body(var buffer):
            if body.count + buffer.readableBytes > limit {
                completion.finish(.failure(AgentError.httpStatus(Int(responseHead?.status.code ?? 0), "the response body is over \(limit) bytes")))
                context.close(promise: nil)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let responseHead else { return }
            completion.finish(.success(FeedFetcher.Response(
                status: Int(responseHead.status.code), headers: responseHead.headers.map { ($0.name, $0.value) }, body: body
            )))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        completion.finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        completion.finish(.failure(AgentError.unreachable("the server closed the connection before a complete response")))
        context.fireChannelInactive()
    }
}

/// Opens a tunnel through an HTTP proxy with `CONNECT`, then hands the connection to `then`.
///
/// While the tunnel opens, SwiftNIO's HTTP/1.1 codec sits in front of this handler: the encoder
/// writes the request and the decoder reads the proxy's answer. The decoder sees the request's
/// method go out, so it knows an answer to `CONNECT` has no body and ends with its head; an
/// `AnswerBoundary` feeds it so that it reads nothing past that end. On a 200 the codec leaves
/// the pipeline, then (unless the proxy sent more) this handler, and `then` sets up TLS and the
/// request on the bare connection.
final class ConnectTunnel: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// The most the proxy's answer may take, status line and header fields.
    static let maximumHeadBytes = 16 * 1024

    private enum State {
        /// The request is (being) sent; no answer yet.
        case awaitingAnswer
        /// The proxy answered 200; its answer has not ended yet.
        case accepted
        /// The answer ended; the codec is leaving the pipeline.
        case switching
        /// Handed over to `then`, or failed.
        case finished
    }

    private let target: String
    private let completion: Completion
    private let then: @Sendable (Channel) throws -> Void
    private let encoder: HTTPRequestEncoder
    private let decoder: ByteToMessageHandler<HTTPResponseDecoder>
    private let boundary: AnswerBoundary
    private var state = State.awaitingAnswer
    private var sent = false

    private init(target: String, completion: Completion, then: @escaping @Sendable (Channel) throws -> Void,
                 encoder: HTTPRequestEncoder, decoder: ByteToMessageHandler<HTTPResponseDecoder>, boundary: AnswerBoundary) {
        self.target = target
        self.completion = completion
        self.then = then
        self.encoder = encoder
        self.decoder = decoder
        self.boundary = boundary
    }

    /// Adds the codec and the tunnel handler; the tunnel to `target` (`host:port`) opens as soon as the channel is active.
    static func add(to operations: ChannelPipeline.SynchronousOperations, target: String, completion: Completion,
                    then: @escaping @Sendable (Channel) throws -> Void) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = maximumHeadBytes
        limits.maxHeaderListSize = maximumHeadBytes
        // The boundary keeps bytes after the answer from the decoder; should any still be left in
        // it, they reach the tunnel as an error, and are refused all the same.
        let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError, limitConfiguration: limits))
        let encoder = HTTPRequestEncoder()
        let boundary = AnswerBoundary(limit: maximumHeadBytes)
        try operations.addHandler(encoder)
        try operations.addHandler(boundary)
        try operations.addHandler(decoder)
        try operations.addHandler(ConnectTunnel(target: target, completion: completion, then: then, encoder: encoder, decoder: decoder, boundary: boundary))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        var head = HTTPRequestHead(version: .http1_1, method: .CONNECT, uri: target)
        head.headers.add(name: "Host", value: target)
        head.headers.add(name: "User-Agent", value: "ocs-agent")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (state, unwrapInboundIn(data)) {
        case (.awaitingAnswer, .head(let head)) where head.status == .ok:
            state = .accepted
        case (.awaitingAnswer, .head(let head)):
            // Whatever body a refusal carries is not read: the connection closes now.
            fail(context, "the proxy refused CONNECT \(target): \(head.version) \(head.status.code) \(head.status.reasonPhrase)")
        case (.accepted, .end):
            boundary.holdsBack = true
            state = .switching
            handOver(context)
        case (.switching, _):
            fail(context, "the proxy sent data before the tunnel was used")
        case (.finished, _), (.awaitingAnswer, _), (.accepted, _):
            break
        }
    }

    /// Removes the codec, then (unless the proxy sent more meanwhile) hands the connection to `then` and leaves.
    private func handOver(_ context: ChannelHandlerContext) {
        let operations = context.pipeline.syncOperations
        let decoderRemoved = operations.removeHandler(decoder)
        let encoderRemoved = operations.removeHandler(encoder)
        decoderRemoved.and(encoderRemoved).assumeIsolated().whenComplete { result in
            guard case .switching = self.state else { return }
            guard self.boundary.bytesAfterAnswer == 0 else {
                self.fail(context, "the proxy sent data before the tunnel was used")
                return
            }
            self.state = .finished
            do {
                _ = try result.get()
                try self.then(context.channel)
                operations.removeHandler(self.boundary, promise: nil)
                operations.removeHandler(context: context, promise: nil)
            } catch {
                self.completion.finish(.failure(error))
            }
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        state = .finished
        boundary.holdsBack = true
        completion.finish(.failure(AgentError.proxy(message)))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch state {
        case .finished:
            break
        case .switching:
            fail(context, "the proxy sent data before the tunnel was used")
        case .awaitingAnswer, .accepted:
            switch error {
            case is AnswerBoundary.AnswerTooLong, HTTPParserError.headerOverflow:
                fail(context, "the proxy's answer to CONNECT is over \(Self.maximumHeadBytes / 1024) KiB")
            case HTTPParserError.invalidEOFState:
                fail(context, "the proxy closed the connection during CONNECT \(target)")
            default:
                fail(context, "the proxy's answer to CONNECT \(target) is not valid HTTP/1.1 (\(error)): check that the proxy is an HTTP CONNECT proxy")
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .finished = state {} else {
            fail(context, "the proxy closed the connection during CONNECT \(target)")
        }
        context.fireChannelInactive()
    }
}

/// Passes the proxy's bytes to the HTTP decoder one at a time until the answer to `CONNECT` has
/// ended, and keeps back (counting) any after it: the decoder would otherwise read them as the start
/// of another answer, and what the proxy sends before the tunnel is used must be refused. It also
/// bounds the answer, status line included (the decoder bounds only the header fields).
final class AnswerBoundary: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The answer was longer than `limit` bytes.
    struct AnswerTooLong: Error {}

    private let limit: Int
    private var passed = 0
    /// Set by the tunnel once it has read all of the answer it will (its end, or a refusal).
    var holdsBack = false
    /// The bytes that arrived after that; they are never passed on.
    private(set) var bytesAfterAnswer = 0

    init(limit: Int) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        while !holdsBack, let byte = buffer.readSlice(length: 1) {
            guard passed < limit else {
                holdsBack = true
                context.fireErrorCaught(AnswerTooLong())
                return
            }
            passed += 1
            context.fireChannelRead(wrapInboundOut(byte))
        }
        bytesAfterAnswer += buffer.readableBytes
    }
}
