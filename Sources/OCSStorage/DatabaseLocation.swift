import Foundation

/// Where the database is: an SQLite file or a PostgreSQL server, as one setting names it
/// (`--database`, `OCS_DATABASE`, the config file). Parsing only: no engine is touched here.
///
/// - `sqlite:PATH`, or a bare path (what `--db` takes today), is an SQLite file.
/// - `postgres://USER@HOST:PORT/DB?sslmode=disable|require|verify-full` (or `postgresql://`) is a
///   PostgreSQL server; `?host=/DIRECTORY` names a Unix socket directory instead of a TCP host.
///
/// A password is never part of the location: it comes from a file or the environment, so it is
/// never printed or logged with the location, and a URL that holds one is refused.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    public init(parsing text: String) throws(DatabaseLocationError) {
        if text.isEmpty {
            throw .empty
        }
        for scheme in ["postgres://", "postgresql://"] where text.lowercased().hasPrefix(scheme) {
            self = .postgres(try PostgresLocation(parsingAfterScheme: text.dropFirst(scheme.count)))
            return
        }
        if text.lowercased().hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw .emptySQLitePath }
            self = .sqlite(path: path)
            return
        }
        if let schemeEnd = text.range(of: "://") {
            throw .unknownScheme(String(text[..<schemeEnd.lowerBound]))
        }
        self = .sqlite(path: text)
    }

    /// The location as it can be shown: never a password (none is ever held).
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let location): location.description
        }
    }
}

/// A PostgreSQL database: who connects, to which server, which database, and how TLS is checked.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum Server: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket `DIRECTORY/.s.PGSQL.PORT`, as libpq names it.
        case unixSocket(directory: String, port: Int)
    }

    /// How the server's TLS certificate is checked (libpq's sslmode names, the subset ocs offers).
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS, without checking the certificate: encryption against passive listeners only.
        case require
        /// TLS with the certificate checked against the trusted roots and the host name. The default.
        case verifyFull = "verify-full"
    }

    public static let defaultPort = 5432

    public var user: String
    public var server: Server
    public var database: String
    /// Always `.disable` for a Unix socket, which PostgreSQL serves without TLS.
    public var sslMode: SSLMode

    public init(user: String, server: Server, database: String, sslMode: SSLMode) {
        self.user = user
        self.server = server
        self.database = database
        self.sslMode = sslMode
    }

    /// The Unix socket a server listening on `port` makes in `directory`.
    public static func unixSocketPath(directory: String, port: Int) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + ".s.PGSQL.\(port)"
    }

    public var description: String {
        let user = Self.encoded(user)
        let database = Self.encoded(database)
        switch server {
        case .tcp(let host, let port):
            let host = host.contains(":") ? "[\(host)]" : host
            return "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
        case .unixSocket(let directory, let port):
            return "postgres://\(user)@:\(port)/\(database)?host=\(Self.encoded(directory, keeping: "/"))"
        }
    }

    private static func encoded(_ text: String, keeping extra: String = "") -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~" + extra)
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Parses what follows `postgres://`: `USER@HOST[:PORT]/DB[?sslmode=...&host=/DIR]`.
    init(parsingAfterScheme text: Substring) throws(DatabaseLocationError) {
        // The password check comes first, so no later message can echo a URL that holds one. A
        // `:` before the first `@` (outside the query) is `USER:PASSWORD@`, whatever the password
        // holds: a `/` in it must not make it pass for a path.
        if let firstAt = text.firstIndex(of: "@"), !text[..<firstAt].contains("?"), text[..<firstAt].contains(":") {
            throw .passwordInURL
        }
        let (beforeQuery, query) = text.firstIndex(of: "?").map { (text[..<$0], text[text.index(after: $0)...]) } ?? (text, nil)
        let (authority, path) = beforeQuery.firstIndex(of: "/").map { (beforeQuery[..<$0], beforeQuery[beforeQuery.index(after: $0)...]) } ?? (beforeQuery, nil)

        guard let at = authority.lastIndex(of: "@") else { throw .missingUser }
        let userInfo = authority[..<at]
        if userInfo.contains(":") { throw .passwordInURL }
        var parameters: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.decoded(parts[0], what: "parameter name")
            if key == "password" { throw .passwordInURL }
            guard parts.count == 2 else { throw .parameterWithoutValue(key) }
            guard parameters[key] == nil else { throw .repeatedParameter(key) }
            parameters[key] = try Self.decoded(parts[1], what: "value of \(key)")
        }

        let user = try Self.decoded(userInfo, what: "user")
        guard !user.isEmpty else { throw .missingUser }

        guard let path, !path.isEmpty else { throw .missingDatabase }
        let database = try Self.decoded(path, what: "database name")
        guard !database.contains("/") else { throw .badDatabase(database) }

        let hostPort = authority[authority.index(after: at)...]
        var host: String
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw .badHost(String(hostPort)) }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let rest = hostPort[hostPort.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .badHost(String(hostPort)) }
                portText = rest.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        host = try Self.decoded(Substring(host), what: "host")
        var port = Self.defaultPort
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else { throw .badPort(String(portText)) }
            port = number
        }

        var sslMode: SSLMode?
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else { throw .unknownSSLMode(value) }
                sslMode = mode
            case "host":
                guard value.hasPrefix("/") else { throw .socketDirectoryNotAbsolute(value) }
                guard host.isEmpty else { throw .twoHosts(host: host, socketDirectory: value) }
            default:
                throw .unknownParameter(key)
            }
        }

        if let directory = parameters["host"] {
            if let sslMode, sslMode != .disable { throw .tlsOnUnixSocket(sslMode) }
            self.init(user: user, server: .unixSocket(directory: directory, port: port), database: database, sslMode: .disable)
        } else {
            guard !host.isEmpty else { throw .missingHost }
            self.init(user: user, server: .tcp(host: host, port: port), database: database, sslMode: sslMode ?? .verifyFull)
        }
    }

    private static func decoded(_ text: Substring, what: String) throws(DatabaseLocationError) -> String {
        guard let decoded = String(text).removingPercentEncoding else { throw .badPercentEncoding(what) }
        return decoded
    }
}

/// What is wrong with a database location. No message repeats a password: a URL that holds one is
/// refused before anything else is read from it.
public enum DatabaseLocationError: Error, Equatable, CustomStringConvertible {
    case empty
    case emptySQLitePath
    case unknownScheme(String)
    case passwordInURL
    case missingUser
    case missingHost
    case badHost(String)
    case badPort(String)
    case missingDatabase
    case badDatabase(String)
    case badPercentEncoding(String)
    case parameterWithoutValue(String)
    case repeatedParameter(String)
    case unknownParameter(String)
    case unknownSSLMode(String)
    case socketDirectoryNotAbsolute(String)
    case twoHosts(host: String, socketDirectory: String)
    case tlsOnUnixSocket(PostgresLocation.SSLMode)

    public var description: String {
        let form = "postgres://USER@HOST:PORT/DB?sslmode=verify-full"
        return switch self {
        case .empty:
            "the database location is empty: give sqlite:PATH or \(form)"
        case .emptySQLitePath:
            "sqlite: names no file: give sqlite:PATH"
        case .unknownScheme(let scheme):
            "unknown database scheme \(scheme)://: give sqlite:PATH or \(form)"
        case .passwordInURL:
            "the PostgreSQL URL holds a password: give the password from a file or the environment, never in the URL"
        case .missingUser:
            "the PostgreSQL URL names no user: \(form)"
        case .missingHost:
            "the PostgreSQL URL names no host: \(form), or ?host=/DIRECTORY for a Unix socket"
        case .badHost(let host):
            "the PostgreSQL URL's host \(host) is not a host name, an address or [an IPv6 address]"
        case .badPort(let port):
            "the PostgreSQL URL's port \(port) is not a number from 1 to 65535"
        case .missingDatabase:
            "the PostgreSQL URL names no database: \(form)"
        case .badDatabase(let name):
            "the PostgreSQL URL's database \(name) has a /: a URL names one database"
        case .badPercentEncoding(let what):
            "the PostgreSQL URL's \(what) has a malformed %-escape"
        case .parameterWithoutValue(let key):
            "the PostgreSQL URL's parameter \(key) has no value: \(key)=VALUE"
        case .repeatedParameter(let key):
            "the PostgreSQL URL gives \(key) twice"
        case .unknownParameter(let key):
            "the PostgreSQL URL's parameter \(key) is not one ocs knows (sslmode, host)"
        case .unknownSSLMode(let mode):
            "sslmode=\(mode) is not one of \(PostgresLocation.SSLMode.allCases.map(\.rawValue).joined(separator: ", "))"
        case .socketDirectoryNotAbsolute(let directory):
            "host=\(directory) is not a Unix socket directory: it must be an absolute path"
        case .twoHosts(let host, let directory):
            "the PostgreSQL URL names both the host \(host) and the Unix socket directory \(directory): give one"
        case .tlsOnUnixSocket(let mode):
            "sslmode=\(mode.rawValue) asks for TLS, which PostgreSQL does not offer on a Unix socket: leave sslmode out or use sslmode=disable"
        }
    }
}
