import Foundation
import Logging
import NIOCore
import OCSDomain
import OCSFeed
import OCSStorage
import OCSServer

/// Everything `ocs serve` runs with, resolved from the command line, the environment, the
/// configuration file and the defaults, and checked as a whole.
struct ServeSettings {
    var host: String
    var port: Int
    var database: DatabaseLocation
    var databasePassword: String?
    var rules: String
    var signing: SigningSettings
    var idleTimeout: Int
    var headerTimeout: Int
    var bodyTimeout: Int
    /// Nil: the default cap, fitted to the open-file limit.
    var maxConnections: Int?
    var maxHeldPolls: Int
    var maxWait: Int
    var shutdownGrace: Int
    var staleAfter: Int
    var retainHistory: Int
    var forgetHostsAfter: Int
    var checkInLimits: CheckInLimits
    /// nil: the database's own default (`ServerState.checkInAcceptance`).
    var checkIns: CheckInAcceptance?
    /// Seconds a signed feed is valid.
    var feedValidity: Int
    /// Seconds between fetches of Microsoft's document; nil: no schedule.
    var upstreamInterval: Int?
    var upstreamURL: URL
    /// An HTTP CONNECT proxy for the upstream fetch; nil: the environment's.
    var upstreamProxy: String?
    var tls: (certificate: String, key: String, chain: String?)?
    var allowPlainHttp: Bool
    /// Where clients reach the server, when a proxy in front terminates TLS.
    var publicURL: URL?
    var logLevel: Logger.Level
    /// `stdout`, `off` or a file path.
    var accessLog: String

    /// Room for a fleet of 10,000 hosts holding waits, and everything else beside them.
    static let defaultMaxConnections = 16_384
    static let defaultMaxHeldPolls = 12_000
    /// Five minutes (shorter would re-sign on nearly every poll) to 30 days (longer defeats expiry).
    static let feedValidityRange = 300...(30 * 86400)

    init(_ options: ServeOptions, _ settings: inout SettingsReader) throws {
        host = settings.text(.host, options.host, default: "127.0.0.1") ?? "127.0.0.1"
        database = try options.database.resolvedLocation(&settings)
        databasePassword = try options.database.password(&settings)
        rules = settings.text(.rules, options.rules, default: "Rules") ?? "Rules"
        signing = try options.signing.resolve(&settings)
        let tlsCertificate = settings.text(.tlsCert, options.tlsCert)
        let tlsKey = settings.text(.tlsKey, options.tlsKey)
        let tlsChain = settings.text(.tlsChain, options.tlsChain)
        port = try settings.integer(.port, options.port, default: 8080, in: 0...65535)
        idleTimeout = try settings.integer(.idleTimeout, options.idleTimeout, default: 60, in: 1...3600)
        headerTimeout = try settings.integer(.headerTimeout, options.headerTimeout, default: 10, in: 1...600)
        bodyTimeout = try settings.integer(.bodyTimeout, options.bodyTimeout, default: 30, in: 1...3600)
        maxConnections = try settings.optionalInteger(.maxConnections, options.maxConnections, in: 1...1_000_000)
        maxHeldPolls = try settings.integer(.maxHeldPolls, options.maxHeldPolls, default: Self.defaultMaxHeldPolls, in: 0...1_000_000)
        maxWait = try settings.integer(.maxWait, options.maxWait, default: 300, in: 1...3600)
        shutdownGrace = try settings.integer(.shutdownGrace, options.shutdownGrace, default: 10, in: 0...300)
        allowPlainHttp = try settings.flag(.allowPlainHttp, options.allowPlainHttp)
        publicURL = try settings.publicURL(.publicUrl, options.publicUrl)
        staleAfter = try settings.integer(.staleAfter, options.staleAfter, default: 3 * 3600, in: 1...(366 * 86400))
        retainHistory = try settings.integer(.retainHistory, options.retainHistory, default: 90, in: 1...36500)
        forgetHostsAfter = try settings.integer(.forgetHostsAfter, options.forgetHostsAfter, default: 90, in: 1...36500)
        if let acceptance = settings.optionalText(.checkIns, options.checkIns, shownDefault: "the database's: enrolled, any for one upgraded with hosts") {
            guard let checkIns = CheckInAcceptance(rawValue: acceptance) else {
                throw CommandFailure("the check-ins setting '\(acceptance.prefix(40))' (\(Setting.checkIns.places)) is not enrolled or any")
            }
            self.checkIns = checkIns
        }
        let standard = CheckInLimits.standard
        checkInLimits = CheckInLimits(
            maximumHosts: try settings.integer(.maxHosts, options.maxHosts, default: standard.maximumHosts, in: 1...10_000_000),
            newHostsPerAddressPerMinute: try settings.integer(
                .newHostsPerAddress, options.newHostsPerAddress, default: standard.newHostsPerAddressPerMinute, in: 1...1_000_000
            ),
            historyEntriesPerHostPerHour: standard.historyEntriesPerHostPerHour
        )
        feedValidity = try settings.integer(.feedValidity, options.feedValidity, default: Int(FeedService.defaultValidity), in: Self.feedValidityRange)
        upstreamInterval = try settings.optionalInteger(.upstreamInterval, options.upstreamInterval, in: 60...(7 * 86400))
        if upstreamInterval == nil { settings.record(.upstreamInterval, "off", source: .defaultValue) }
        upstreamURL = try UpstreamSource.url(settings.text(.upstreamUrl, options.upstreamUrl, default: UpstreamDefaults.url))
        upstreamProxy = settings.optionalText(.upstreamProxy, options.upstreamProxy, shownDefault: "HTTPS_PROXY from the environment")
        if maxConnections == nil {
            // Shown as the default; the cap itself is fitted to the open-file limit at start-up.
            settings.record(.maxConnections, String(Self.defaultMaxConnections), source: .defaultValue)
        }
        let level = settings.text(.logLevel, options.logLevel, default: "info") ?? "info"
        guard let logLevel = Logger.Level(rawValue: level) else {
            throw CommandFailure("the log level '\(level.prefix(40))' (\(Setting.logLevel.places)) is not one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        accessLog = settings.text(.accessLog, options.accessLog, default: "stdout") ?? "stdout"
        if accessLog.isEmpty { throw CommandFailure("the access log (\(Setting.accessLog.places)) must be stdout, off or a file path") }

        switch (tlsCertificate, tlsKey) {
        case (let certificate?, let key?): tls = (certificate, key, tlsChain)
        case (nil, nil):
            tls = nil
            if tlsChain != nil { throw CommandFailure("a TLS chain needs the TLS certificate and key") }
        default:
            throw CommandFailure("give both the TLS certificate and key (\(Setting.tlsCert.option) and \(Setting.tlsKey.option)), or neither")
        }
        if tls == nil && !allowPlainHttp && !Self.isLoopback(host) {
            throw CommandFailure("""
                --host \(host) without TLS would send API tokens and check-ins across the network in clear: \
                give --tls-cert and --tls-key, or --allow-plain-http when a proxy in front terminates TLS
                """)
        }
    }

    /// Whether `host` names only this machine: `localhost` or a loopback address. A first check,
    /// before anything is created; the server judges the address it actually bound again
    /// (`localhost` may resolve anywhere).
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        return (try? SocketAddress(ipAddress: host, port: 0))?.isLoopback ?? false
    }
}
