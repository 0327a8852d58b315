import Foundation
import OCSDomain
import OCSStorage

/// A rule as the API shows it: the rule-file fields under `rule`, and where its history stands.
struct RuleView: Encodable {
    let rule: Mitigation
    let revision: Int
    let latestRevision: Int
    let createdAt: Date
    let updatedAt: Date
    let firstPublishedAt: Date?

    init(_ record: RuleRecord) {
        rule = record.rule
        revision = record.revision
        latestRevision = record.latestRevision
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        firstPublishedAt = record.firstPublishedAt
    }
}

/// One revision as the API shows it.
struct RevisionView: Encodable {
    let revision: Int
    let author: String
    let createdAt: Date
    let rule: Mitigation

    init(_ revision: RuleRevision) {
        self.revision = revision.revision
        author = revision.author
        createdAt = revision.createdAt
        rule = revision.rule
    }
}

/// A host as `ocs hosts --json` and the API show it: its latest state plus its build's name.
public struct HostView: Encodable, Sendable {
    public let id: String
    public let name: String
    public let serverId: String?
    public let serverName: String?
    public let build: String?
    public let buildName: String?
    public let orgId: String?
    public let applied: [String]
    public let blocked: [String]
    public let mitigationsEnabled: Bool?
    public let dataCollectionEnabled: Bool?
    public let remoteAddress: String?
    public let userAgent: String?
    public let firstSeen: Date
    public let lastSeen: Date
    public let pollCount: Int

    public init(_ host: HostState, catalog: BuildCatalog = .embedded) {
        let latest = host.latest
        id = host.hostKey
        name = latest.serverName ?? latest.serverID ?? host.hostKey
        serverId = latest.serverID
        serverName = latest.serverName
        build = latest.build
        buildName = latest.build.flatMap { try? ExchangeBuild(parsing: $0) }.map(catalog.describe)
        orgId = latest.orgID
        applied = latest.applied
        blocked = latest.blocked
        mitigationsEnabled = latest.mitigationsEnabled
        dataCollectionEnabled = latest.dataCollectionEnabled
        remoteAddress = latest.remoteAddress
        userAgent = latest.userAgent
        firstSeen = host.firstSeen
        lastSeen = host.lastSeen
        pollCount = host.pollCount
    }
}

/// One problem with a submitted rule: `422` bodies are a list of these.
struct ProblemView: Encodable {
    let field: String
    let message: String
}

/// `{"error": "..."}`, the body of every other API error.
struct ErrorView: Encodable {
    let error: String
}

/// JSON as the API and the command line's `--json` write it: sorted keys, ISO 8601 dates,
/// indented for people using curl.
public enum APIJSON {
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // The views hold only strings, numbers, dates and rules, which always encode.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [0x0A]
    }
}
