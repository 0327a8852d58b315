/// One setting of `ocs`, under the names it has in each place it can be given: a command-line
/// option, an `OCS_*` environment variable and a key of the YAML configuration file.
struct Setting: Hashable, Sendable {
    /// The configuration file's key, in camel case: `signingKey`.
    let key: String
    /// What the value is, for `ocs config show` and error messages.
    let summary: String

    /// `--signing-key`.
    var option: String {
        "--" + key.reduce(into: "") { name, character in
            if character.isUppercase { name += "-" + character.lowercased() } else { name.append(character) }
        }
    }

    /// `OCS_SIGNING_KEY`: the key's words in capitals joined by `_`, as swift-configuration's
    /// environment provider spells the key `ocs.signingKey`.
    var environmentVariable: String {
        "OCS_" + key.reduce(into: "") { name, character in
            if character.isUppercase { name += "_" + String(character) } else { name += character.uppercased() }
        }
    }

    /// Every place the setting can come from, for messages: `--port, OCS_PORT or port in the
    /// configuration file`.
    var places: String { "\(option), \(environmentVariable) or '\(key)' in the configuration file" }
}

extension Setting {
    static let configFile = Setting(key: "config", summary: "YAML file of settings")
    static let database = Setting(key: "database", summary: "sqlite:PATH (or a bare path) or a postgres:// URL")
    /// The former name of `database`, still read: deployments set `OCS_DB`.
    static let db = Setting(key: "db", summary: "former name of database")
    static let databasePasswordFile = Setting(key: "databasePasswordFile", summary: "file holding the PostgreSQL password")
    static let host = Setting(key: "host", summary: "address to listen on")
    static let port = Setting(key: "port", summary: "port to listen on (0: any free port)")
    static let rules = Setting(key: "rules", summary: "rules imported into an empty database")
    static let signingKey = Setting(key: "signingKey", summary: "feed signing key (PEM file)")
    static let signingCert = Setting(key: "signingCert", summary: "feed signing certificate (PEM file)")
    static let signingChain = Setting(key: "signingChain", summary: "feed signing chain (PEM file)")
    static let rotateSigningKey = Setting(key: "rotateSigningKey", summary: "accept a signing certificate other than the recorded one")
    static let tlsCert = Setting(key: "tlsCert", summary: "TLS certificate (PEM file)")
    static let tlsKey = Setting(key: "tlsKey", summary: "TLS private key (PEM file)")
    static let tlsChain = Setting(key: "tlsChain", summary: "TLS intermediate certificates (PEM file)")
    static let allowPlainHttp = Setting(key: "allowPlainHttp", summary: "plain HTTP off loopback (behind a TLS proxy)")
    static let publicUrl = Setting(key: "publicUrl", summary: "the URL clients reach the server at (https: Secure cookies)")
    static let idleTimeout = Setting(key: "idleTimeout", summary: "seconds of silence between requests")
    static let headerTimeout = Setting(key: "headerTimeout", summary: "seconds to receive a request head")
    static let bodyTimeout = Setting(key: "bodyTimeout", summary: "seconds to receive a request body")
    static let maxConnections = Setting(key: "maxConnections", summary: "connections open at once")
    static let maxHeldPolls = Setting(key: "maxHeldPolls", summary: "polls held at once waiting for a change")
    static let maxWait = Setting(key: "maxWait", summary: "longest wait a poll is held for, in seconds")
    static let shutdownGrace = Setting(key: "shutdownGrace", summary: "seconds a stop waits for requests in flight")
    static let staleAfter = Setting(key: "staleAfter", summary: "seconds without a poll before a host is stale")
    static let retainHistory = Setting(key: "retainHistory", summary: "days of host history kept")
    static let forgetHostsAfter = Setting(key: "forgetHostsAfter", summary: "days without a poll before a host is forgotten")
    static let checkIns = Setting(key: "checkIns", summary: "enrolled or any: which check-ins are recorded")
    static let maxHosts = Setting(key: "maxHosts", summary: "most hosts kept")
    static let newHostsPerAddress = Setting(key: "newHostsPerAddress", summary: "most new hosts one address adds in a minute")
    static let feedValidity = Setting(key: "feedValidity", summary: "seconds a signed feed is valid; re-signed after half")
    static let upstreamInterval = Setting(key: "upstreamInterval", summary: "seconds between fetches of Microsoft's document (off when not given)")
    static let upstreamUrl = Setting(key: "upstreamUrl", summary: "Microsoft's OCS endpoint")
    static let upstreamProxy = Setting(key: "upstreamProxy", summary: "HTTP CONNECT proxy for the upstream fetch")
    static let logLevel = Setting(key: "logLevel", summary: "trace, debug, info, notice, warning, error or critical")
    static let accessLog = Setting(key: "accessLog", summary: "stdout, off or a file path")

    /// Every key the configuration file may hold.
    static let fileKeys: [Setting] = [
        .database, .db, .databasePasswordFile, .host, .port, .rules, .signingKey, .signingCert, .signingChain, .rotateSigningKey, .tlsCert, .tlsKey, .tlsChain,
        .allowPlainHttp, .publicUrl, .idleTimeout, .headerTimeout, .bodyTimeout, .maxConnections, .maxHeldPolls, .maxWait, .shutdownGrace, .staleAfter,
        .retainHistory, .checkIns, .forgetHostsAfter, .maxHosts, .newHostsPerAddress,
        .feedValidity, .upstreamInterval, .upstreamUrl, .upstreamProxy, .logLevel, .accessLog,
    ]
}
