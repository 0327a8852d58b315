import ArgumentParser
import Dispatch
import Foundation
import Logging
import NIOCore
import OCSFeed
import OCSRuleFiles
import OCSServer
import OCSSigning
import OCSStorage

/// `ocs serve`: runs the feed server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve /getexchangemitigations to Exchange servers.",
        discussion: "On an empty database, the rules under --rules are imported first, so a first run serves PING1 and M1."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (the log says which).")
    var port = 8080

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Rule file or folder imported when the database holds no rules.")
    var rules = "Rules"

    @OptionGroup var signing: SigningOptions

    @Option(help: "Seconds a connection may stay silent between requests before it is closed.")
    var idleTimeout = 60

    @Option(help: "Seconds from a request's first byte until its head must be complete, else 408 and close.")
    var headerTimeout = 10

    @Option(help: "Seconds from a request's head until its body must be complete, else 408 and close.")
    var bodyTimeout = 30

    @Option(help: ArgumentHelp(
        "Connections open at once; more wait in the listen backlog until one closes. [default: 1024]",
        discussion: "Each connection takes a file descriptor: the open-file limit (ulimit -n) is raised to fit when the hard limit allows. The default is lowered to what the limit leaves room for; a value given here is kept, with a warning."
    ))
    var maxConnections: Int?

    @Option(help: "TLS certificate (PEM), optionally followed by its chain: with --tls-key, serve HTTPS.")
    var tlsCert: String?

    @Option(help: "The TLS certificate's private key (PEM).")
    var tlsKey: String?

    @Option(help: "Intermediate certificates (PEM) sent after the TLS certificate.")
    var tlsChain: String?

    @Flag(help: "Serve plain HTTP on an address other than loopback: only behind a proxy that terminates TLS.")
    var allowPlainHttp = false

    @OptionGroup var staleness: StalenessOptions

    @Option(help: "Days of host history kept; older changes are pruned in the background (each host's newest is kept).")
    var retainHistory = 90

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be between 1 and 3600 seconds") }
        guard (1...600).contains(headerTimeout) else { throw ValidationError("--header-timeout must be between 1 and 600 seconds") }
        guard (1...3600).contains(bodyTimeout) else { throw ValidationError("--body-timeout must be between 1 and 3600 seconds") }
        if let maxConnections, !(1...1_000_000).contains(maxConnections) {
            throw ValidationError("--max-connections must be between 1 and 1000000")
        }
        guard (1...36500).contains(retainHistory) else { throw ValidationError("--retain-history must be between 1 and 36500 days") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("give both --tls-cert and --tls-key, or neither") }
        guard tlsChain == nil || tlsCert != nil else { throw ValidationError("--tls-chain goes with --tls-cert and --tls-key") }
        if tlsCert == nil && !allowPlainHttp && !Self.isLoopback(host) {
            throw ValidationError("""
                --host \(host) without TLS would send API tokens and check-ins across the network in clear: \
                give --tls-cert and --tls-key, or --allow-plain-http when a proxy in front terminates TLS
                """)
        }
    }

    /// Whether `host` only reaches this machine: `localhost` or a loopback address.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        guard let address = try? SocketAddress(ipAddress: host, port: 0) else { return false }
        switch address {
        case .v4(let v4): return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6: return host == "::1" || host == "0:0:0:0:0:0:0:1"
        default: return false
        }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ocs")
        // TLS files are checked before anything is created, so a refused start leaves nothing behind.
        let tls = try loadTLS(logger: logger)
        let db = try database.open()
        let ruleStore = RuleStore(database: db)
        let signer = try FeedSigner(identity: signing.identity(databasePath: db.path, logger: logger))
        try importInitialRules(into: ruleStore, logger: logger)

        var configuration = HTTPServer.Configuration(
            host: host, port: port, idleTimeout: .seconds(Int64(idleTimeout)),
            headerTimeout: .seconds(Int64(headerTimeout)), bodyTimeout: .seconds(Int64(bodyTimeout)),
            maxConnections: connectionCap(logger: logger), tls: tls
        )
        configuration.staleAfterSeconds = staleness.staleAfter
        let server = HTTPServer(
            configuration: configuration,
            database: db,
            feeds: FeedService(store: ruleStore, signer: signer),
            serials: SerialReader(store: ruleStore),
            recorder: CheckInRecorder(store: CheckInStore(database: db), rules: ruleStore),
            logger: logger
        )
        var signals = [SIGINT, SIGTERM].map { number in
            Self.onSignal(number) {
                logger.info("stopping on signal \(number)")
                server.shutdown()
            }
        }
        if let tls {
            signals.append(Self.onSignal(SIGHUP) { Self.reload(tls, logger: logger) })
        }
        defer { signals.forEach { $0.cancel() } }
        let pruner = HistoryPruner(store: CheckInStore(database: db), retention: TimeInterval(retainHistory) * 86400) { result in
            switch result {
            case .success(let deleted) where deleted > 0:
                logger.info("pruned host history", metadata: ["entries": "\(deleted)", "olderThanDays": "\(retainHistory)"])
            case .success: break
            case .failure(let error): logger.error("pruning host history failed", metadata: ["error": "\(error)"])
            }
        }
        pruner.start()
        defer { pruner.stop() }

        do {
            try await server.run { address in
                logger.info("listening", metadata: ["address": "\(address)", "db": "\(db.path)"])
                // One machine-readable line on stdout, for scripts and tests that start the server.
                let line = "listening on \(tls == nil ? "http" : "https")://\(address.ipAddress ?? host):\(address.port ?? port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        } catch {
            throw CommandFailure("cannot serve on \(host):\(port): \(error)")
        }
    }

    private func loadTLS(logger: Logger) throws -> TLSIdentityStore? {
        guard let tlsCert, let tlsKey else { return nil }
        do {
            let identity = try TLSIdentity.load(certificateFile: tlsCert, keyFile: tlsKey, chainFile: tlsChain)
            logger.info("serving HTTPS", metadata: ["certificate": "\(identity.leaf.subject)", "expires": "\(identity.leaf.notValidAfter.formatted(.iso8601))"])
            return TLSIdentityStore(identity)
        } catch {
            throw CommandFailure("cannot serve TLS: \(error.description)")
        }
    }

    /// SIGHUP: read the TLS files again. New connections get the new identity; a failed reload
    /// keeps the old one and says why.
    private static func reload(_ tls: TLSIdentityStore, logger: Logger) {
        do {
            let identity = try tls.reload()
            logger.notice("reloaded the TLS certificate and key", metadata: ["certificate": "\(identity.leaf.subject)", "expires": "\(identity.leaf.notValidAfter.formatted(.iso8601))"])
        } catch {
            logger.error("TLS reload failed, still serving the previous certificate: \(error.description)")
        }
    }

    private static func onSignal(_ number: Int32, _ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number)
        source.setEventHandler(handler: handler)
        source.resume()
        return source
    }

    /// The connection cap, fitted to the open-file limit.
    private func connectionCap(logger: Logger) -> Int {
        let wanted = maxConnections ?? Self.defaultMaxConnections
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

    static let defaultMaxConnections = 1024

    private func importInitialRules(into store: RuleStore, logger: Logger) throws {
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

extension Logger.Level: @retroactive ExpressibleByArgument {}
