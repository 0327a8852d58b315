import Foundation

/// One poll from an identified host: what it reported about itself, and when and from where.
public struct CheckIn: Sendable, Equatable {
    public var serverID: String?
    public var serverName: String?
    public var build: String?
    public var orgID: String?
    public var applied: [String]
    public var blocked: [String]
    public var mitigationsEnabled: Bool?
    public var dataCollectionEnabled: Bool?
    public var remoteAddress: String?
    public var userAgent: String?
    public var time: Date
    /// The SHA-256 (hex) of the host credential the poll carried (`EnrollmentStore`), nil for
    /// none: only a poll with its host's credential changes a verified host.
    public var credentialDigest: String?

    public init(
        serverID: String?, serverName: String?, build: String?, orgID: String?,
        applied: [String], blocked: [String], mitigationsEnabled: Bool?, dataCollectionEnabled: Bool?,
        remoteAddress: String?, userAgent: String?, time: Date, credentialDigest: String? = nil
    ) {
        self.serverID = serverID
        self.serverName = serverName
        self.build = build
        self.orgID = orgID
        self.applied = applied
        self.blocked = blocked
        self.mitigationsEnabled = mitigationsEnabled
        self.dataCollectionEnabled = dataCollectionEnabled
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent
        self.time = time
        self.credentialDigest = credentialDigest
    }
}

/// Where a host's record comes from.
public enum HostSource: String, Sendable, Codable, CaseIterable {
    /// Its own polls of the feed: an ocs agent, or anything polling with its identity.
    case poll
    /// `Get-ExchangeServer` reports (`ocs hosts import --exchange`, `POST /api/v1/inventory`):
    /// a server running Microsoft's own EM service, which never polls ocs.
    case inventory
}

/// The disconnected site a host polls at, and when the file that last changed its record here was
/// exported there: what the central instance knows of it is as of that time.
public struct HostSite: Sendable, Equatable {
    public var name: String
    public var exportedAt: Date

    public init(name: String, exportedAt: Date) {
        self.name = name
        self.exportedAt = exportedAt
    }

    /// Site names take the form of rule ids: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public static func isValidName(_ name: String) -> Bool {
        RuleValidator.isValidID(name)
    }
}

/// A known host: its stable id and its latest state.
///
/// Facts the newest poll left out (say, no `build`) keep the value an earlier poll reported.
public struct HostState: Sendable, Equatable {
    /// Stable for the host's life and never reused; see `HostReference` for how URLs name a host.
    public var id: Int64
    /// What the host reports now; `time` is when it last polled.
    public var latest: CheckIn
    public var firstSeen: Date
    public var pollCount: Int
    /// Nobody outside can forge its record: enrolled, with a live credential (what it reports
    /// came from polls that carried it), or an inventory host (reports sent with an API token).
    public var verified = false
    /// Where its record comes from: its polls, or `Get-ExchangeServer` reports.
    public var source = HostSource.poll
    /// The disconnected site whose check-in files report it, nil for this instance's own hosts.
    public var site: HostSite?

    public init(id: Int64, latest: CheckIn, firstSeen: Date, pollCount: Int, verified: Bool = false, source: HostSource = .poll, site: HostSite? = nil) {
        self.id = id
        self.latest = latest
        self.firstSeen = firstSeen
        self.pollCount = pollCount
        self.verified = verified
        self.source = source
        self.site = site
    }

    public var lastSeen: Date { latest.time }

    /// Its name, else its serverId.
    public var displayName: String { latest.serverName ?? latest.serverID ?? "host \(id)" }
}

/// One change of what a host reports: the state from `state.time` on, until the next entry.
public struct HostHistoryEntry: Sendable, Equatable {
    public var id: Int64
    public var state: CheckIn

    public init(id: Int64, state: CheckIn) {
        self.id = id
        self.state = state
    }
}
