import Foundation
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import OCSFeed
import OCSOperations
import OCSStorage
import ServiceLifecycle

/// The ocs HTTP listener: SwiftNIO's HTTP/1.1 pipeline in front of the router. A `Service`:
/// it serves until graceful shutdown, then stops accepting, lets requests in flight finish
/// (their check-ins are committed before they are answered) and closes idle connections,
/// for at most `shutdownGrace`, then closes what is left.
public final class HTTPServer: Service, Sendable {
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
        /// Polls held waiting for a change at once (`Prefer: wait`); past it a poll is answered at
        /// once. Below `maxConnections`, so waiting agents leave connections for everyone else.
        public var maxHeldPolls: Int
        /// Longest wait a poll is held for, in seconds.
        public var maxWaitSeconds: Int
        /// How long a graceful shutdown waits for requests in flight.
        public var shutdownGrace: TimeAmount
        /// Where answered requests are logged.
        public var accessLog: AccessLog
        /// Terminates TLS with this identity; nil serves plain HTTP, which is refused on an address
        /// other than loopback unless `allowPlainHTTPOffLoopback` (a proxy in front terminates TLS).
        public var tls: TLSIdentityStore?
        public var allowPlainHTTPOffLoopback: Bool
        /// The URL clients reach the server at, when a proxy in front terminates TLS: an https one
        /// makes the dashboard's cookies `Secure`, as `tls` does.
        public var publicURL: URL?
        /// Requests one connection may have waiting for their responses before it is closed (reading
        /// pauses long before, at 16).
        public var maxPipelinedRequests: Int
        /// The admin API counts a host that has not polled for this long as stale.
        public var staleAfterSeconds: Int
        /// `/readyz` answers 503 when the database's file system has less free than this.
        public var minimumFreeBytes: UInt64

        public init(
            host: String, port: Int, idleTimeout: TimeAmount = .seconds(60), headerTimeout: TimeAmount = .seconds(10),
            bodyTimeout: TimeAmount = .seconds(30), maxConnections: Int = 1024, maxHeldPolls: Int = 768, maxWaitSeconds: Int = 300,
            shutdownGrace: TimeAmount = .seconds(10),
            accessLog: AccessLog = .off, tls: TLSIdentityStore? = nil, allowPlainHTTPOffLoopback: Bool = false, publicURL: URL? = nil,
            staleAfterSeconds: Int = 3 * 3600, maxPipelinedRequests: Int = 256, minimumFreeBytes: UInt64 = OCSDatabase.minimumFreeBytes
        ) {
            self.minimumFreeBytes = minimumFreeBytes
            self.tls = tls
            self.allowPlainHTTPOffLoopback = allowPlainHTTPOffLoopback
            self.publicURL = publicURL
            self.staleAfterSeconds = staleAfterSeconds
            self.shutdownGrace = shutdownGrace
            self.accessLog = accessLog
            self.host = host
            self.port = port
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.maxConnections = maxConnections
            self.maxHeldPolls = maxHeldPolls
            self.maxWaitSeconds = maxWaitSeconds
            self.maxPipelinedRequests = maxPipelinedRequests
        }
    }

    private let configuration: Configuration
    private let router: Router
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let logger: Logger
    /// Called once the listener is bound, with its address (the port, when 0 was asked for).
    private let onBound: @Sendable (SocketAddress) -> Void

    private let metrics: ServerMetrics
    private let serialWatcher: SerialWatcher
    private let recorder: CheckInRecorder
    /// Internal, not private: tests read how many polls are held.
    let heldPolls: HeldPolls

    public init(
        configuration: Configuration, operations: Operations, feeds: FeedService, recorder: CheckInRecorder,
        metrics: ServerMetrics, logger: Logger, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.recorder = recorder
        self.onBound = onBound
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        threadPool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        serialWatcher = SerialWatcher(feeds: feeds, database: operations.database, threadPool: threadPool, logger: logger)
        heldPolls = HeldPolls(capacity: configuration.maxHeldPolls, feeds: feeds, threadPool: threadPool, metrics: metrics, logger: logger)
        router = Router(
            feed: FeedEndpoint(
                feeds: feeds, recorder: recorder, threadPool: threadPool, metrics: metrics, held: heldPolls,
                maximumWait: configuration.maxWaitSeconds, logger: logger
            ),
            enroll: EnrollmentEndpoint(enrollment: operations.enrollment, threadPool: threadPool, logger: logger),
            api: AdminAPI(
                operations: operations, feeds: feeds, staleAfterSeconds: configuration.staleAfterSeconds, threadPool: threadPool, logger: logger
            ),
            health: HealthEndpoint(
                state: operations.state, database: operations.database, minimumFreeBytes: configuration.minimumFreeBytes,
                feeds: feeds, threadPool: threadPool, logger: logger
            ),
            metrics: MetricsEndpoint(metrics: metrics, checkIns: operations.checkIns, rules: operations.rules, upstream: operations.upstream, threadPool: threadPool),
            dashboard: DashboardController(
                operations: operations, staleAfterSeconds: configuration.staleAfterSeconds,
                isHTTPS: configuration.tls != nil || configuration.publicURL?.scheme?.lowercased() == "https",
                publicURL: configuration.publicURL, threadPool: threadPool, logger: logger
            )
        )
    }

    public func run() async throws {
        threadPool.start()
        do {
            try await serveUntilStopped()
        } catch {
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw error
        }
        // A check-in batch still committing (the grace ran out) completes its polls' promises on
        // the event loops: wait for it, so they are queued before the loops stop and none is dropped.
        await recorder.finishPending()
        serialWatcher.stop()
        try await threadPool.shutdownGracefully()
        try await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// Listens until the service group asks to stop (SIGTERM, SIGINT) or the task is cancelled,
    /// then drains. Its own function so that the quiescing helper is released when it returns,
    /// while the event loops still run: its deinit completes a promise on one of them, which
    /// after their shutdown printed NIO's "Cannot schedule tasks" error on every stop.
    private func serveUntilStopped() async throws {
        let router = self.router
        let metrics = self.metrics
        let configuration = self.configuration
        let logger = self.logger
        let quiescing = ServerQuiescingHelper(group: group)
        let listener = try await ServerBootstrap(group: group)
            // A change answers thousands of held polls at once, and their agents report and poll
            // again on new connections together: a short backlog dropped their SYNs, each retried
            // a second and then three later (p99 4.8 s). Linux caps it at net.core.somaxconn.
            .serverChannelOption(.backlog, value: Self.listenBacklog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // One accept per wake-up, so the connection cap holds exactly: several per read
            // would take connections past it before the gate closes.
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            // Nothing is accepted until the bound address is judged (`refusePlainHTTPOffLoopback`).
            .serverChannelOption(.autoRead, value: false)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(AcceptGate(maximum: configuration.maxConnections, metrics: metrics, logger: logger))
                }
            }
            // TCP_NODELAY at IPPROTO_TCP: at SOL_SOCKET its number is SO_DEBUG, which only root
            // may set, so every connection of a non-root server was closed unanswered.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configureConnection(channel.pipeline.syncOperations, configuration: configuration, router: router, metrics: metrics, logger: logger)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        do {
            try Self.refusePlainHTTPOffLoopback(bound: listener.localAddress, configuration)
            try await listener.setOption(.autoRead, value: true).get()
        } catch {
            try? await listener.close()
            throw error
        }
        if let address = listener.localAddress { onBound(address) }
        serialWatcher.start(on: group.next())

        try? await gracefulShutdown()
        logger.info("stopping: no new connections; finishing requests in flight", metadata: ["grace": "\(configuration.shutdownGrace)"])
        await Self.drain(quiescing, heldPolls, on: group.next(), within: configuration.shutdownGrace, logger: logger)
    }

    /// Plain HTTP is judged on the address the listener was bound to, not on the host name asked
    /// for: `localhost` may resolve to any address.
    static func refusePlainHTTPOffLoopback(bound: SocketAddress?, _ configuration: Configuration) throws(PlainHTTPOffLoopback) {
        guard configuration.tls == nil, !configuration.allowPlainHTTPOffLoopback, bound?.isLoopback != true else { return }
        throw PlainHTTPOffLoopback(host: configuration.host, bound: bound)
    }

    /// Closes the listener, answers every held poll (each with the feed it holds, not when its
    /// wait passes) and asks every connection to finish its request and close; returns once all
    /// have, or when `grace` has passed (the event loops' shutdown closes the rest).
    private static func drain(
        _ quiescing: ServerQuiescingHelper, _ heldPolls: HeldPolls, on eventLoop: any EventLoop, within grace: TimeAmount, logger: Logger
    ) async {
        let drained = eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        heldPolls.releaseAll()
        let outcome = eventLoop.makePromise(of: Bool.self)
        let timer = eventLoop.scheduleTask(in: grace) { outcome.succeed(false) }
        drained.futureResult.whenComplete { _ in
            timer.cancel()
            outcome.succeed(true)
        }
        if (try? await outcome.futureResult.get()) != true {
            logger.warning("the shutdown grace ran out: closing connections with requests still in flight")
        }
    }

    /// Connections the kernel queues before they are accepted.
    static let listenBacklog: Int32 = 4096

    /// The handlers of one connection, socket side first.
    static func configureConnection(
        _ pipeline: ChannelPipeline.SynchronousOperations, configuration: Configuration, router: Router, metrics: ServerMetrics, logger: Logger
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
        try pipeline.addHandler(RequestLimits(
            timeouts: .init(header: configuration.headerTimeout, body: configuration.bodyTimeout),
            maximumWaiting: configuration.maxPipelinedRequests, metrics: metrics, logger: logger
        ))
        try pipeline.addHandler(HTTPServerPipelineHandler())
        try pipeline.addHandler(ProtocolErrorResponder(metrics: metrics))
        // No response compressor: the only compressed responses are feeds, gzipped once each when
        // signed (FeedService), so a compressor would only inspect every request and response.
        try pipeline.addHandler(HTTPRequestHandler(router: router, accessLog: configuration.accessLog, metrics: metrics))
    }

}
