import ArgumentParser

/// `ocs serve`'s options. Each is optional here: a value left out comes from the environment,
/// the configuration file or the default (see `ServeSettings`), so both `serve` and
/// `config show` take exactly these.
struct ServeOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions

    @OptionGroup var signing: SigningOptions

    @Option(help: "Address to listen on. [default: 127.0.0.1]")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (the log says which). [default: 8080]")
    var port: Int?

    @Option(help: "Rule file or folder imported when the database holds no rules. [default: Rules]")
    var rules: String?

    @Option(help: "Seconds a connection may stay silent between requests before it is closed. [default: 60]")
    var idleTimeout: Int?

    @Option(help: "Seconds from a request's first byte until its head must be complete, else 408 and close. [default: 10]")
    var headerTimeout: Int?

    @Option(help: "Seconds from a request's head until its body must be complete, else 408 and close. [default: 30]")
    var bodyTimeout: Int?

    @Option(help: ArgumentHelp(
        "Connections open at once; more wait in the listen backlog until one closes. [default: 16384]",
        discussion: "Each connection takes a file descriptor: the open-file limit (ulimit -n) is raised to fit when the hard limit allows. The default is lowered to what the limit leaves room for; a value given is kept, with a warning."
    ))
    var maxConnections: Int?

    @Option(help: ArgumentHelp(
        "Polls held at once waiting for a change of their feed (Prefer: wait). [default: 12000]",
        discussion: "Past it a poll that asks to wait is answered at once. Each held poll keeps its connection open: the cap is lowered to leave an eighth of --max-connections (at least 64) to everything else."
    ))
    var maxHeldPolls: Int?

    @Option(help: "Longest wait, in seconds, a poll is held for; a longer Prefer: wait is cut to it. [default: 300]")
    var maxWait: Int?

    @Option(help: "Seconds a graceful stop (SIGTERM, SIGINT) waits for requests in flight before closing them. [default: 10]")
    var shutdownGrace: Int?

    @Option(help: "TLS certificate (PEM), optionally followed by its chain: with --tls-key, serve HTTPS.")
    var tlsCert: String?

    @Option(help: "The TLS certificate's private key (PEM).")
    var tlsKey: String?

    @Option(help: "Intermediate certificates (PEM) sent after the TLS certificate.")
    var tlsChain: String?

    @Flag(help: "Serve plain HTTP on an address other than loopback: only behind a proxy that terminates TLS.")
    var allowPlainHttp = false

    @Option(help: ArgumentHelp(
        "The URL clients reach the server at, when a proxy in front terminates TLS: https://ocs.example.org.",
        discussion: "An https URL makes the dashboard's cookies Secure, as serving TLS itself does; dashboard forms may also come from its origin."
    ))
    var publicUrl: String?

    @Option(help: "Seconds without a poll after which a host counts as stale (3 hours: three missed hourly polls). [default: 10800]")
    var staleAfter: Int?

    @Option(help: "Days of host history kept; older changes are pruned in the background (each host's newest is kept). [default: 90]")
    var retainHistory: Int?

    @Option(help: ArgumentHelp(
        "Days without a poll after which a host is forgotten by the background pruner, its history with it. [default: 90]",
        discussion: "A forgotten host that polls again is a new host. Bounds what hosts that were added once and never came back (decommissioned servers, a flood) keep in the database. Enrolled hosts are kept: forget one with ocs hosts forget."
    ))
    var forgetHostsAfter: Int?

    @Option(help: ArgumentHelp(
        "Which check-ins are recorded: enrolled (only polls carrying a host credential) or any (also hosts that did not enroll, as unverified). [default: enrolled; any for a database upgraded with hosts that checked in before enrollment]",
        discussion: "Every poll is served its feed either way. With any, a poll without a credential still never changes an enrolled host."
    ))
    var checkIns: String?

    @Option(help: ArgumentHelp(
        "Most hosts kept: the check-ins of further new hosts are not recorded (their polls are still served), with a log line and a metric. [default: 10000]"
    ))
    var maxHosts: Int?

    @Option(help: ArgumentHelp(
        "Most new hosts one source address adds in a minute; further new hosts from it are not recorded until the minute passes. [default: 120]",
        discussion: "Behind a proxy that hides client addresses every host shares one: raise it for a large first roll-out there."
    ))
    var newHostsPerAddress: Int?

    @Option(help: ArgumentHelp(
        "Seconds a signed feed is valid: its expires is its signing time plus this, and it is signed again once half has passed (\(ServeSettings.feedValidityRange.lowerBound) to \(ServeSettings.feedValidityRange.upperBound)). [default: 86400]",
        discussion: "Agents refuse an expired feed, so a captured feed cannot be replayed for longer than this."
    ))
    var feedValidity: Int?

    @Option(help: ArgumentHelp(
        "Seconds between fetches of Microsoft's document (60 to 604800); off when not given. [default: off]",
        discussion: "Each fetch is verified against Microsoft's roots before anything is kept (ocs upstream show, GET /api/v1/upstream). A failed fetch keeps what was kept and is logged once per streak of failures."
    ))
    var upstreamInterval: Int?

    @Option(help: ArgumentHelp("Microsoft's OCS endpoint, for --upstream-interval. [default: \(UpstreamDefaults.url)]", valueName: "url"))
    var upstreamUrl: String?

    @Option(help: ArgumentHelp("An HTTP CONNECT proxy for the upstream fetch, http://host:port. [default: HTTPS_PROXY from the environment]", valueName: "url"))
    var upstreamProxy: String?

    @Option(help: "Where to log each request: stdout, off, or a file to append to. [default: stdout]")
    var accessLog: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [default: info]")
    var logLevel: String?
}
