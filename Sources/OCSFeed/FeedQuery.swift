import OCSDomain

/// The facts a polling EM service sends, validated: the query parameters of `/getexchangemitigations`.
///
/// - `build` (alias `version`): the host's build, `15.2.1118.7` or `Version 15.2 (Build 1118.7)`.
/// - `server`: host name. `serverId`: immutable device GUID. `orgId`: organization GUID.
/// - `applied`, `blocked`: comma-separated mitigation ids.
/// - `mitigationsEnabled`, `dataCollectionEnabled`: `true` or `false`.
/// Names match case-insensitively; unknown parameters are ignored so newer agents keep working.
public struct FeedQuery: Sendable, Equatable {
    public var build: ExchangeBuild?
    public var server: String?
    public var serverID: String?
    public var orgID: String?
    public var applied: [String] = []
    public var blocked: [String] = []
    public var mitigationsEnabled: Bool?
    public var dataCollectionEnabled: Bool?

    /// Longest value accepted for any parameter, in bytes.
    public static let maximumValueLength = 256

    public init() {}

    /// True when the poll identifies its host, so that it is recorded as a check-in.
    public var identifiesHost: Bool { serverID != nil || server != nil }

    /// The host as host groups see it; anonymous when the poll names no host (its org alone
    /// puts it in no group).
    public var pollingHost: PollingHost {
        identifiesHost ? PollingHost(serverID: serverID, name: server, orgID: orgID) : .anonymous
    }

    /// Validates decoded query items; the first bad parameter is named in the error.
    public init(items: [(name: String, value: String?)]) throws(FeedQueryError) {
        // Parameters given so far, one bit each: no set to allocate per poll.
        var seen: UInt16 = 0
        for (rawName, rawValue) in items {
            guard let parameter = Parameter(name: rawName) else { continue }
            let value = rawValue ?? ""
            let bit: UInt16 = 1 << parameter.canonical.rawValue
            defer { seen |= bit }
            guard seen & bit == 0 else {
                let alias = parameter.canonical == .build ? " ('build' and 'version' are one parameter)" : ""
                throw FeedQueryError(parameter: rawName, message: "is given more than once\(alias)")
            }
            guard value.utf8.count <= Self.maximumValueLength else {
                throw FeedQueryError(parameter: rawName, message: "is longer than \(Self.maximumValueLength) bytes")
            }
            switch parameter {
            case .build, .version:
                let parsed: ExchangeBuild
                do { parsed = try ExchangeBuild(parsing: value) } catch {
                    throw FeedQueryError(parameter: rawName, message: "'\(value.prefix(80))' is not a build: expected four numbers like 15.2.1118.7 or 'Version 15.2 (Build 1118.7)'")
                }
                guard ExchangeProduct(build: parsed) != nil else {
                    throw FeedQueryError(parameter: rawName, message: "\(parsed) is not an Exchange 2016, 2019 or SE build (15.1.x or 15.2.x)")
                }
                build = parsed
            case .server:
                guard HostIdentity.isValidName(value) else {
                    throw FeedQueryError(parameter: rawName, message: "'\(value.prefix(80))' is not a host name: use letters, digits, '.', '-' and '_'")
                }
                server = value
            case .serverID:
                serverID = try Self.guid(value, parameter: rawName)
            case .orgID:
                orgID = try Self.guid(value, parameter: rawName)
            case .applied:
                applied = try Self.ids(value, parameter: rawName)
            case .blocked:
                blocked = try Self.ids(value, parameter: rawName)
            case .mitigationsEnabled:
                mitigationsEnabled = try Self.bool(value, parameter: rawName)
            case .dataCollectionEnabled:
                dataCollectionEnabled = try Self.bool(value, parameter: rawName)
            }
        }
    }

    private enum Parameter: UInt16, CaseIterable {
        case build, version, server, serverID, orgID, applied, blocked, mitigationsEnabled, dataCollectionEnabled

        /// The parameter's name in lower case; names match case-insensitively.
        var name: String {
            switch self {
            case .build: "build"
            case .version: "version"
            case .server: "server"
            case .serverID: "serverid"
            case .orgID: "orgid"
            case .applied: "applied"
            case .blocked: "blocked"
            case .mitigationsEnabled: "mitigationsenabled"
            case .dataCollectionEnabled: "datacollectionenabled"
            }
        }

        /// Matched without lower-casing a copy of `name`: every poll's parameters pass here.
        init?(name: String) {
            guard let match = Self.allCases.first(where: { name.equalsASCIICaseInsensitive($0.name) }) else { return nil }
            self = match
        }

        /// `version` is an alias of `build`: both count as one parameter.
        var canonical: Parameter {
            self == .version ? .build : self
        }
    }

    /// A GUID, with or without braces, in any case; returned lower-case without braces.
    static func guid(_ value: String, parameter: String) throws(FeedQueryError) -> String {
        guard let guid = HostIdentity.normalizedGUID(value) else {
            throw FeedQueryError(parameter: parameter, message: "'\(value.prefix(80))' is not a GUID like 6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e")
        }
        return guid
    }

    static func ids(_ value: String, parameter: String) throws(FeedQueryError) -> [String] {
        guard !value.isEmpty else { return [] }
        let ids = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        for id in ids where !RuleValidator.isValidID(id) {
            throw FeedQueryError(parameter: parameter, message: "'\(id.prefix(80))' is not a mitigation id: use comma-separated ids of A-Z a-z 0-9 . _ -")
        }
        return ids
    }

    static func bool(_ value: String, parameter: String) throws(FeedQueryError) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw FeedQueryError(parameter: parameter, message: "'\(value.prefix(80))' is not a boolean: use true or false")
        }
    }
}

/// A bad query parameter; becomes a `400` whose one line names the parameter.
public struct FeedQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let parameter: String
    public let message: String

    public init(parameter: String, message: String) {
        self.parameter = parameter
        self.message = message
    }

    /// The one line of the `400`: a line break or other control character in the echoed name or
    /// value (percent-decoded, so `%0A` is one) is written as an escape such as `\n`.
    public var description: String { OneLineText.escaping("parameter '\(parameter.prefix(64))' \(message)") }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
