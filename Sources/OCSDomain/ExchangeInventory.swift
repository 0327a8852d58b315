import Foundation

/// What `Get-ExchangeServer` shows of one server running Microsoft's own EM service: the record
/// that service keeps of what it applied and blocked. Such a server never polls ocs; an inventory
/// report is how ocs learns where it stands.
public struct InventoryServer: Sendable, Equatable {
    /// The server's Active Directory object GUID (`Guid`), lower-case: its host's serverId.
    public var guid: String
    public var name: String
    public var fqdn: String?
    /// `AdminDisplayVersion` as a build number (`15.2.986.5`).
    public var build: ExchangeBuild
    /// `ServerRole`, as PowerShell wrote it (`Mailbox`, `Edge`, `Mailbox, ClientAccess`).
    public var roles: String
    public var mitigationsEnabled: Bool?
    public var dataCollectionEnabled: Bool?
    public var applied: [String]
    public var blocked: [String]
    /// `MitigationsAppliedTime`: when the EM service last applied mitigations, if ever.
    public var appliedAt: Date?

    public init(
        guid: String, name: String, fqdn: String?, build: ExchangeBuild, roles: String,
        mitigationsEnabled: Bool?, dataCollectionEnabled: Bool?, applied: [String], blocked: [String], appliedAt: Date?
    ) {
        self.guid = guid
        self.name = name
        self.fqdn = fqdn
        self.build = build
        self.roles = roles
        self.mitigationsEnabled = mitigationsEnabled
        self.dataCollectionEnabled = dataCollectionEnabled
        self.applied = applied
        self.blocked = blocked
        self.appliedAt = appliedAt
    }

    /// The report as a check-in at `time`: the facts a poll would carry, so that coverage reads
    /// both kinds of host the same way.
    public func checkIn(at time: Date) -> CheckIn {
        CheckIn(
            serverID: guid, serverName: name, build: build.description, orgID: nil, applied: applied, blocked: blocked,
            mitigationsEnabled: mitigationsEnabled, dataCollectionEnabled: dataCollectionEnabled,
            remoteAddress: nil, userAgent: InventoryReport.userAgent, time: time
        )
    }
}

/// One `Get-ExchangeServer` export, read: the servers it reports, and those it skips with why.
public struct InventoryReport: Sendable, Equatable {
    public var servers: [InventoryServer]
    public var skipped: [Skipped]

    /// The user agent an inventory host's record carries, where a polling host's names its agent.
    public static let userAgent = "ocs inventory (Get-ExchangeServer)"
    /// The most ids an `applied` or `blocked` list may hold (a poll's lists are as bounded).
    public static let maximumIDs = 32

    public struct Skipped: Sendable, Equatable {
        public var name: String
        public var reason: String

        public init(name: String, reason: String) {
            self.name = name
            self.reason = reason
        }
    }

    public init(servers: [InventoryServer], skipped: [Skipped]) {
        self.servers = servers
        self.skipped = skipped
    }
}

/// What recording an inventory report did, server by server.
public struct InventoryOutcome: Sendable, Equatable, Codable {
    public enum Result: String, Sendable, Codable {
        /// A new host, from this report.
        case added
        /// An inventory host, updated by this report.
        case updated
        /// Neither: the server's agent enrolled (its verified check-ins count), or the report is an
        /// Edge server's, which runs no EM service, or the database holds its most hosts.
        case skipped
    }

    public var name: String
    public var serverID: String?
    public var result: Result
    public var note: String?

    public init(name: String, serverID: String?, result: Result, note: String? = nil) {
        self.name = name
        self.serverID = serverID
        self.result = result
        self.note = note
    }
}
