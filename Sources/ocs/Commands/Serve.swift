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
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ocs")
        let db = try database.open()
        let ruleStore = RuleStore(database: db)
        let signer = try FeedSigner(identity: signing.identity(databasePath: db.path, logger: logger))
        try importInitialRules(into: ruleStore, logger: logger)

        let server = HTTPServer(
            configuration: .init(
                host: host, port: port, idleTimeout: .seconds(Int64(idleTimeout)),
                headerTimeout: .seconds(Int64(headerTimeout)), bodyTimeout: .seconds(Int64(bodyTimeout)),
                maxConnections: connectionCap(logger: logger)
            ),
            database: db,
            feeds: FeedService(store: ruleStore, signer: signer),
            serials: SerialReader(store: ruleStore),
            recorder: CheckInRecorder(store: CheckInStore(database: db), rules: ruleStore),
            logger: logger
        )
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                logger.info("stopping on signal \(number)")
                server.shutdown()
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        do {
            try await server.run { address in
                logger.info("listening", metadata: ["address": "\(address)", "db": "\(db.path)"])
                // One machine-readable line on stdout, for scripts and tests that start the server.
                let line = "listening on http://\(address.ipAddress ?? host):\(address.port ?? port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        } catch {
            throw CommandFailure("cannot serve on \(host):\(port): \(error)")
        }
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
