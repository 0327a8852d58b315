import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import OCSDomain
import OCSFeed
import OCSOperations
import OCSRuleFiles
import OCSPostgres
import OCSServer
import OCSSigning
import OCSStorage
import ServiceLifecycle

/// `ocs serve`: runs the feed server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve /getexchangemitigations to Exchange servers.",
        discussion: "On an empty database, the rules under --rules are imported first, so a first run serves PING1 and M1."
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        var reader = try options.database.settings()
        let settings = try ServeSettings(options, &reader)
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ocs")
        // TLS files are checked before anything is created, so a refused start leaves nothing behind.
        let tls = try Self.loadTLS(settings, logger: logger)
        let accessLog = try Self.accessLog(settings.accessLog)
        let db = try DatabaseOptions.open(settings.database, password: settings.databasePassword, creating: true)
        let acceptance = try Self.checkInAcceptance(settings.checkIns, of: ServerState(database: db), logger: logger)
        let operations = Operations(database: db, checkInLimits: settings.checkInLimits, checkInAcceptance: acceptance)
        let ruleStore = operations.rules
        // A disconnected site serves the bundle it imported, signed centrally: it holds no key.
        let signer: FeedSigner?
        if let bundle = try operations.bundles.summary() {
            if settings.signing.keyFile != nil {
                logger.warning("this database serves an imported bundle: the signing key given is not used")
            }
            logger.info("serving the imported bundle, signed by the central instance", metadata: [
                "serial": "\(bundle.serial)", "expires": "\(bundle.expires.formatted(.iso8601))", "sha256": "\(bundle.fingerprint)",
            ])
            signer = nil
        } else {
            signer = try FeedSigner(identity: await settings.signing.identity(for: db, recording: true, logger: logger))
            try Self.importInitialRules(from: settings.rules, into: ruleStore, logger: logger)
        }

        let scheme = tls == nil ? "http" : "https"
        let metrics = ServerMetrics()
        metrics.bootstrapMetricsSystem()
        let connections = Self.connectionCap(settings.maxConnections, logger: logger)
        let server = HTTPServer(
            configuration: .init(
                host: settings.host, port: settings.port, idleTimeout: .seconds(Int64(settings.idleTimeout)),
                headerTimeout: .seconds(Int64(settings.headerTimeout)), bodyTimeout: .seconds(Int64(settings.bodyTimeout)),
                maxConnections: connections,
                maxHeldPolls: Self.heldPollCap(settings.maxHeldPolls, connections: connections, logger: logger), maxWaitSeconds: settings.maxWait,
                shutdownGrace: .seconds(Int64(settings.shutdownGrace)), accessLog: accessLog, tls: tls,
                allowPlainHTTPOffLoopback: settings.allowPlainHttp, publicURL: settings.publicURL, staleAfterSeconds: settings.staleAfter
            ),
            operations: operations,
            feeds: FeedService(
                store: ruleStore, signer: signer, bundles: operations.bundles, validity: TimeInterval(settings.feedValidity), signed: metrics.feedSigned
            ),
            recorder: CheckInRecorder(store: operations.checkIns) { [refusals = CheckInRefusalLog(logger: logger)] batch, duration in
                metrics.checkInsCommitted(batch, in: duration)
                refusals.note(batch)
            },
            metrics: metrics,
            logger: logger
        ) { [host = settings.host, port = settings.port] address in
            logger.info("listening", metadata: ["address": "\(address)", "db": "\(db.name)"])
            // One machine-readable line on stdout, for scripts and tests that start the server.
            let line = "listening on \(scheme)://\(address.ipAddress ?? host):\(address.port ?? port)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        // Pruning runs a pass an hour on NIO's shared thread pool, which outlives the server's own.
        let pruning = HistoryPruning(
            store: operations.checkIns, state: operations.state, retention: .seconds(settings.retainHistory * 86400),
            forgetHostsAfter: .seconds(settings.forgetHostsAfter * 86400), threadPool: .singleton, logger: logger
        )
        // The group stops its services in reverse order: PostgreSQL's client, first, stops last,
        // once the server has answered every poll it took.
        let database: [any Service] = (db as? PostgresDatabase).map { [$0] } ?? []
        var services: [any Service] = database + [server, pruning, TLSReloader(store: tls, logger: logger)]
        if let interval = settings.upstreamInterval {
            services.append(UpstreamPolling(
                upstream: operations.upstream, url: settings.upstreamURL, interval: .seconds(interval), metrics: metrics, threadPool: .singleton, logger: logger,
                download: try UpstreamSource.download(for: settings.upstreamURL, proxy: settings.upstreamProxy)
            ))
            logger.info("fetching Microsoft's document on a schedule", metadata: ["url": "\(settings.upstreamURL)", "everySeconds": "\(interval)"])
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            throw CommandFailure("cannot serve on \(settings.host):\(settings.port): \(Self.describe(error))")
        }
    }

    /// The check-ins to record: as given, else the database's default; said in the log, with a
    /// warning when hosts that did not enroll will no longer be recorded.
    private static func checkInAcceptance(_ given: CheckInAcceptance?, of state: ServerState, logger: Logger) throws -> CheckInAcceptance {
        let acceptance = try given ?? state.checkInAcceptance()
        switch acceptance {
        case .any:
            logger.notice("recording check-ins of hosts that did not enroll too, as unverified (--check-ins any\(given == nil ? ": this database's hosts checked in before enrollment" : "")); --check-ins enrolled once its agents are enrolled")
        case .enrolled:
            let unverified = try state.unverifiedHostCount()
            if unverified > 0 {
                logger.warning("\(unverified) hosts did not enroll: their polls are served but no longer recorded (--check-ins enrolled); enroll them (ocs enrollment create, ocs agent enroll) or start with --check-ins any")
            }
        }
        return acceptance
    }

    /// Why serving failed, for a person: NIO names the system call and its arguments (`bind(descriptor:ptr:bytes:)`).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? PlainHTTPOffLoopback {
            return "\(error): give --tls-cert and --tls-key, or --allow-plain-http when a proxy in front terminates TLS"
        }
        guard let error = error as? IOError else { return "\(error)" }
        if error.errnoCode == EADDRINUSE { return "the address is already in use: stop what listens there or choose another --port" }
        if error.errnoCode == EACCES { return "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE" }
        return String(cString: strerror(error.errnoCode)) + " (errno \(error.errnoCode))"
    }

    /// The access log: `off`, `stdout` or a file appended to, written off the event loops.
    private static func accessLog(_ target: String) throws -> AccessLog {
        let writer: LineWriter
        switch target {
        case "off": return .off
        case "stdout": writer = .standardOutput()
        default:
            do {
                writer = try .file(target)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        return AccessLog(writer: writer)
    }

    private static func loadTLS(_ settings: ServeSettings, logger: Logger) throws -> TLSIdentityStore? {
        guard let files = settings.tls else { return nil }
        do {
            let identity = try TLSIdentity.load(certificateFile: files.certificate, keyFile: files.key, chainFile: files.chain)
            logger.info("serving HTTPS", metadata: ["certificate": "\(identity.leaf.subject)", "expires": "\(identity.leaf.notValidAfter.formatted(.iso8601))"])
            return TLSIdentityStore(identity)
        } catch {
            throw CommandFailure("cannot serve TLS: \(error.description)")
        }
    }

    /// The connection cap, fitted to the open-file limit.
    private static func connectionCap(_ maxConnections: Int?, logger: Logger) -> Int {
        let wanted = maxConnections ?? ServeSettings.defaultMaxConnections
        let budget = DescriptorBudget.raise(toFit: wanted)
        guard budget.connections < wanted else { return wanted }
        if maxConnections == nil {
            let fitted = max(1, budget.connections)
            logger.notice("the open-file limit (ulimit -n \(budget.limit)) leaves room for \(fitted) connections: --max-connections lowered from \(wanted)")
            return fitted
        }
        logger.warning("--max-connections \(wanted) exceeds what the open-file limit (ulimit -n \(budget.limit)) leaves room for (\(budget.connections)): at that point accepting waits for descriptors; raise ulimit -n")
        return wanted
    }

    /// The held-poll cap, leaving an eighth of the connections (at least 64) to everything else:
    /// the API, the dashboard and polls that do not wait.
    static func heldPollCap(_ wanted: Int, connections: Int, logger: Logger) -> Int {
        let room = max(0, connections - max(64, connections / 8))
        guard wanted > room else { return wanted }
        logger.notice("--max-held-polls lowered from \(wanted) to \(room): \(connections) connections, of which an eighth (at least 64) is kept for the API, the dashboard and plain polls")
        return room
    }

    private static func importInitialRules(from rules: String, into store: RuleStore, logger: Logger) throws {
        guard try store.isEmpty() else { return }
        guard FileManager.default.fileExists(atPath: rules) else {
            logger.warning("the database holds no rules and \(rules) does not exist: serving an empty feed")
            return
        }
        let files: RuleFileSet
        do {
            files = try RuleFileSet.load(rules)
        } catch {
            throw CommandFailure("the rules in \(rules) are invalid, nothing was imported:\n\(error.description)")
        }
        let summary = try store.importRules(files.rules)
        logger.info("imported initial rules", metadata: ["from": "\(rules)", "rules": "\(summary.created.joined(separator: ","))"])
    }
}

