import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OCSFeed
import OCSStorage
import Synchronization

/// The ocs HTTP listener: SwiftNIO's HTTP/1.1 pipeline in front of the router.
public final class HTTPServer: Sendable {
    /// What the server needs to answer requests, and the limits it holds every client to.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// A connection that sends nothing for this long between requests is closed, so idle
        /// clients cannot hold sockets open forever. Agents poll hourly on fresh connections.
        public var idleTimeout: TimeAmount
        /// Time from a request's first byte until its head is complete.
        public var headerTimeout: TimeAmount
        /// Time from a request's head until its body is complete.
        public var bodyTimeout: TimeAmount
        /// Connections open at once; more wait in the listen backlog until one closes.
        public var maxConnections: Int
        /// Terminates TLS with this identity; nil serves plain HTTP.
        public var tls: TLSIdentityStore?
        /// Requests one connection may have waiting for their responses before it is closed (reading
        /// pauses long before, at 16).
        public var maxPipelinedRequests: Int
        /// The admin API counts a host that has not polled for this long as stale.
        public var staleAfterSeconds = 3 * 3600

        public init(
            host: String, port: Int, idleTimeout: TimeAmount = .seconds(60), headerTimeout: TimeAmount = .seconds(10),
            bodyTimeout: TimeAmount = .seconds(30), maxConnections: Int = 1024, tls: TLSIdentityStore? = nil,
            maxPipelinedRequests: Int = 256
        ) {
            self.tls = tls
            self.host = host
            self.port = port
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.maxConnections = maxConnections
            self.maxPipelinedRequests = maxPipelinedRequests
        }
    }

    private let configuration: Configuration
    private let router: Router
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let logger: Logger

    public init(configuration: Configuration, database: OCSDatabase, feeds: FeedService, serials: SerialReader, recorder: CheckInRecorder, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        threadPool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        router = Router(
            feed: FeedEndpoint(feeds: feeds, serials: serials, recorder: recorder, threadPool: threadPool, logger: logger),
            api: AdminAPI(
                rules: RuleStore(database: database), checkIns: CheckInStore(database: database),
                fleet: FleetStore(database: database), staleAfterSeconds: configuration.staleAfterSeconds,
                audit: AuditLog(database: database), tokens: TokenStore(database: database),
                catalog: .embedded, threadPool: threadPool, logger: logger
            )
        )
    }

    /// Binds and serves until `shutdown()`; returns once the listener is closed.
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        threadPool.start()
        let router = self.router
        let configuration = self.configuration
        let logger = self.logger
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // One accept per wake-up, so the connection cap holds exactly: several per read
            // would take connections past it before the gate closes.
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptGate(maximum: configuration.maxConnections, logger: logger))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configureConnection(channel.pipeline.syncOperations, configuration: configuration, router: router, logger: logger)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        if let address = channel.localAddress { onBound(address) }
        listener.withLock { $0 = channel }
        try await channel.closeFuture.get()
        try await threadPool.shutdownGracefully()
        try await group.shutdownGracefully()
    }

    /// The handlers of one connection, socket side first.
    static func configureConnection(
        _ pipeline: ChannelPipeline.SynchronousOperations, configuration: Configuration, router: Router, logger: Logger
    ) throws {
        if let tls = configuration.tls {
            try pipeline.addHandler(NIOSSLServerHandler(context: tls.current.context))
        }
        // Stops reading while responses cannot be written, so a client that sends without
        // reading fills its own socket buffer rather than the server's memory.
        try pipeline.addHandler(BackPressureHandler())
        try pipeline.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
        // Response headers are fixed strings and hex digests, never request data: outbound
        // header validation would only re-check them on every response.
        try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try pipeline.addHandler(RequestDeadlines(timeouts: .init(header: configuration.headerTimeout, body: configuration.bodyTimeout)))
        try pipeline.addHandler(PipeliningLimit(maximum: configuration.maxPipelinedRequests, logger: logger))
        try pipeline.addHandler(HTTPServerPipelineHandler())
        try pipeline.addHandler(ProtocolErrorResponder())
        try pipeline.addHandler(FeedCompression.makeCompressor())
        try pipeline.addHandler(HTTPRequestHandler(router: router))
    }

    private let listener = Mutex<(any Channel)?>(nil)

    /// Stops accepting connections; `run` returns once in-flight work has finished.
    public func shutdown() {
        listener.withLock { $0?.close(promise: nil) }
    }
}
