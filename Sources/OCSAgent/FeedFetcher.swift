import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A minimal HTTP/1.1 client for one GET per connection, as the EM service polls: plain HTTP or
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
    public func get(_ url: URL, headers extraHeaders: [(String, String)] = []) async throws(AgentError) -> Response {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw .invalidURL("'\(url.absoluteString)' is not an http:// or https:// URL")
        }
        let tls = scheme == "https"
        let port = url.port ?? (tls ? 443 : 80)
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target)
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        head.headers.add(name: "Host", value: hostHeader)
        head.headers.add(name: "User-Agent", value: "ocs-agent")
        head.headers.add(name: "Accept", value: "application/xml")
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
                        try operations.addHandler(ResponseCollector(head: requestHead, limit: limit, completion: completion))
                    }
                    if let tunnelTarget {
                        try operations.addHandler(ConnectTunnel(target: tunnelTarget, completion: completion, then: exchange))
                    } else {
                        try exchange(channel)
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            completion.finish(.failure(AgentError.timeout("no complete response within \(Self.describe(timeout))")))
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
            if let error = error as? NIOSSLError { throw .tls("\(host):\(port): \(error)") }
            if let error = error as? BoringSSLError { throw .tls("\(host):\(port): \(error)") }
            throw .unreachable("\(host):\(port): \(error)")
        }
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
    private let limit: Int
    private let completion: Completion
    private var responseHead: HTTPResponseHead?
    private var body: [UInt8] = []
    private var sent = false

    init(head: HTTPRequestHead, limit: Int, completion: Completion) {
        self.head = head
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
final class ConnectTunnel: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let target: String
    private let completion: Completion
    private let then: @Sendable (Channel) throws -> Void
    private var received: [UInt8] = []
    private var sent = false

    init(target: String, completion: Completion, then: @escaping @Sendable (Channel) throws -> Void) {
        self.target = target
        self.completion = completion
        self.then = then
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
        let request = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\nUser-Agent: ocs-agent\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if received.count > 16 * 1024 { fail(context, "the proxy's answer to CONNECT is over 16 KiB") }
            return
        }
        let statusLine = String(decoding: received[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1] == "200" else {
            fail(context, "the proxy refused CONNECT \(target): \(statusLine.prefix(120))")
            return
        }
        guard end.upperBound == received.count else {
            fail(context, "the proxy sent data before the tunnel was used")
            return
        }
        do {
            try then(context.channel)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            completion.finish(.failure(error))
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        completion.finish(.failure(AgentError.proxy(message)))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        completion.finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        completion.finish(.failure(AgentError.proxy("the proxy closed the connection during CONNECT \(target)")))
        context.fireChannelInactive()
    }
}
