import Foundation
import OCSDomain
import OCSStorage

/// A rule as the API shows it: the rule-file fields under `rule`, and where its history stands.
public struct RuleView: Encodable {
    let rule: Mitigation
    let revision: Int
    let latestRevision: Int
    let createdAt: Date
    let updatedAt: Date
    let firstPublishedAt: Date?
    /// A published rule's stage: `{"everyone": true, "groups": []}` or the groups it is released to.
    let release: ReleaseView?
    /// After a PUT: targeting that can match nothing, which publishing refuses (absent when none).
    let warnings: [ProblemView]?

    public init(_ record: RuleRecord, warnings: [ProblemView]? = nil) {
        release = record.release.map(ReleaseView.init)
        rule = record.rule
        revision = record.revision
        latestRevision = record.latestRevision
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        firstPublishedAt = record.firstPublishedAt
        self.warnings = warnings.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// One revision as the API shows it.
public struct RevisionView: Encodable {
    let revision: Int
    let author: String
    let createdAt: Date
    let rule: Mitigation

    public init(_ revision: RuleRevision) {
        self.revision = revision.revision
        author = revision.author
        createdAt = revision.createdAt
        rule = revision.rule
    }
}

/// One page of a list as the API and `--json` show it: `{"items": [...], "next": CURSOR}`, with
/// `next` null on the last page; `?cursor=NEXT` asks for the page after.
public struct PageView<Item: Encodable & Sendable>: Encodable, Sendable {
    public let items: [Item]
    public let next: String?

    public init<Source>(_ page: Page<Source>, _ transform: (Source) -> Item) {
        items = page.items.map(transform)
        next = page.next?.token
    }

    enum CodingKeys: String, CodingKey { case items, next }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        // Present on every page: null says this is the last.
        try container.encode(next, forKey: .next)
    }
}

/// A host as `ocs hosts --json` and the API show it: its latest state plus its build's name.
/// `id` is stable for the host's life (`/api/v1/hosts/{id}`); `stale` says it has not polled
/// within the stale-after time.
public struct HostView: Encodable, Sendable {
    public let id: Int64
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
    public let stale: Bool
    /// Nobody outside can forge its record: enrolled (what it reports came from polls carrying
    /// its credential), or an inventory host.
    public let verified: Bool
    /// `poll` or `inventory` (reported by `Get-ExchangeServer`: it runs Microsoft's EM service).
    public let source: HostSource
    /// The disconnected site it polls at, when a site's check-in file reports it; nil for this
    /// instance's own hosts.
    public let site: String?
    /// When that site exported the file that last changed it: what is known here is as of then.
    public let siteExportedAt: Date?

    public init(_ host: HostState, staleSince: Date, catalog: BuildCatalog = .embedded) {
        let latest = host.latest
        id = host.id
        name = host.displayName
        serverId = latest.serverID
        serverName = latest.serverName
        build = latest.build
        buildName = latest.build.flatMap { try? ExchangeBuild(parsing: $0) }.map(catalog.describe)
        orgId = latest.orgID
        applied = latest.applied
        blocked = latest.blocked
        verified = host.verified
        source = host.source
        site = host.site?.name
        siteExportedAt = host.site?.exportedAt
        mitigationsEnabled = latest.mitigationsEnabled
        dataCollectionEnabled = latest.dataCollectionEnabled
        remoteAddress = latest.remoteAddress
        userAgent = latest.userAgent
        firstSeen = host.firstSeen
        lastSeen = host.lastSeen
        pollCount = host.pollCount
        stale = host.lastSeen < staleSince
    }
}

/// A host and a page of its history, newest change first.
public struct HostDetailView: Encodable, Sendable {
    public let host: HostView
    public let history: PageView<HistoryEntryView>

    public init(host: HostView, history: PageView<HistoryEntryView>) {
        self.host = host
        self.history = history
    }
}

/// One change of what a host reports: the state it reported from `time` on.
public struct HistoryEntryView: Encodable, Sendable {
    public let time: Date
    public let serverId: String?
    public let serverName: String?
    public let build: String?
    public let orgId: String?
    public let applied: [String]
    public let blocked: [String]
    public let mitigationsEnabled: Bool?
    public let dataCollectionEnabled: Bool?
    public let remoteAddress: String?
    public let userAgent: String?

    public init(_ entry: HostHistoryEntry) {
        let state = entry.state
        time = state.time
        serverId = state.serverID
        serverName = state.serverName
        build = state.build
        orgId = state.orgID
        applied = state.applied
        blocked = state.blocked
        mitigationsEnabled = state.mitigationsEnabled
        dataCollectionEnabled = state.dataCollectionEnabled
        remoteAddress = state.remoteAddress
        userAgent = state.userAgent
    }
}

/// `GET /api/v1/rules/{id}/coverage`: a published rule's coverage counts.
public struct CoverageView: Encodable, Sendable {
    public let rule: String
    public let revision: Int
    public let staleAfterSeconds: Int
    public let hosts: CoverageCounts
    /// The rule's stage: with groups, only hosts in them count as in scope.
    public let release: ReleaseView?

    public init(_ coverage: RuleCoverage, staleAfterSeconds: Int, release: Release? = nil) {
        self.release = release.map(ReleaseView.init)
        rule = coverage.rule
        revision = coverage.revision
        self.staleAfterSeconds = staleAfterSeconds
        hosts = coverage.hosts
    }
}

/// `GET /api/v1/rules/{id}/coverage?state=NAME`: a page of the hosts in that state.
public struct CoverageHostsView: Encodable, Sendable {
    public let rule: String
    public let revision: Int
    public let staleAfterSeconds: Int
    public let state: String
    public let items: [HostView]
    public let next: String?

    public init(rule: String, revision: Int, staleAfterSeconds: Int, state: String, hosts: PageView<HostView>) {
        self.rule = rule
        self.revision = revision
        self.staleAfterSeconds = staleAfterSeconds
        self.state = state
        items = hosts.items
        next = hosts.next
    }

    enum CodingKeys: String, CodingKey { case rule, revision, staleAfterSeconds, state, items, next }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rule, forKey: .rule)
        try container.encode(revision, forKey: .revision)
        try container.encode(staleAfterSeconds, forKey: .staleAfterSeconds)
        try container.encode(state, forKey: .state)
        try container.encode(items, forKey: .items)
        try container.encode(next, forKey: .next)
    }
}

/// One problem with a submitted rule: `422` bodies are a list of these.
public struct ProblemView: Encodable, Sendable {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// `{"error": "..."}`, the body of every other API error.
public struct ErrorView: Encodable, Sendable {
    public let error: String

    public init(error: String) {
        self.error = error
    }
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

/// A document of Microsoft's, as `GET /api/v1/upstream` and `ocs upstream show --json` show it.
public struct UpstreamDocumentView: Encodable, Sendable {
    let digest: String
    let size: Int
    let configIds: [String]
    let signer: String
    let stampedAt: Date?
    let origin: String
    let firstSeen: Date
    let lastSeen: Date

    public init(_ document: UpstreamDocument) {
        digest = document.digest
        size = document.size
        configIds = document.configIDs
        signer = document.signer
        stampedAt = document.stampedAt
        origin = document.origin
        firstSeen = document.firstSeen
        lastSeen = document.lastSeen
    }
}

/// What Microsoft serves now (`current`, null before a document was kept), which of its Config
/// ids no rule in ocs has, and a page of every document kept, newest first.
public struct UpstreamView: Encodable, Sendable {
    let current: UpstreamDocumentView?
    let withoutRule: [String]
    let documents: PageView<UpstreamDocumentView>

    public init(_ status: UpstreamStatus, documents: Page<UpstreamDocument>) {
        current = status.current.map(UpstreamDocumentView.init)
        withoutRule = status.withoutRule
        self.documents = PageView(documents, UpstreamDocumentView.init)
    }

    enum CodingKeys: String, CodingKey { case current, withoutRule, documents }

    // `current` is written as null when there is none, so a script need not test for the key.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(current, forKey: .current)
        try container.encode(withoutRule, forKey: .withoutRule)
        try container.encode(documents, forKey: .documents)
    }
}
