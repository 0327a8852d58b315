import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSFeed
import OCSStorage
import Synchronization

/// The ocs HTTP listener: SwiftNIO's HTTP/1.1 pipeline in front of the router.
public final class HTTPServer: Sendable {
    /// What the server needs to answer requests.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// A connection that sends nothing for this long is closed, so idle or stalled clients
        /// cannot hold sockets open forever. Agents poll hourly on fresh connections.
        public var idleTimeout: TimeAmount

        public init(host: String, port: Int, idleTimeout: TimeAmount = .seconds(60)) {
            self.host = host
            self.port = port
            self.idleTimeout = idleTimeout
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
                audit: AuditLog(database: database), tokens: TokenStore(database: database),
                catalog: .embedded, threadPool: threadPool, logger: logger
            )
        )
    }

    /// Binds and serves until `shutdown()`; returns once the listener is closed.
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        threadPool.start()
        let router = self.router
        let idleTimeout = configuration.idleTimeout
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    // Response headers are fixed strings and hex digests, never request data:
                    // outbound header validation would only re-check them on every response.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: true, withOutboundHeaderValidation: false
                    )
                    try channel.pipeline.syncOperations.addHandler(FeedCompression.makeCompressor())
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestHandler(router: router))
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

    private let listener = Mutex<(any Channel)?>(nil)

    /// Stops accepting connections; `run` returns once in-flight work has finished.
    public func shutdown() {
        listener.withLock { $0?.close(promise: nil) }
    }
}
