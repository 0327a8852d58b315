import Foundation

/// One poll from an identified host: what it reported about itself, and when and from where.
public struct CheckIn: Sendable, Equatable {
    /// `serverId` when the host sent one, else `name:` and its case-folded server name.
    public var hostKey: String
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

    public init(
        serverID: String?, serverName: String?, build: String?, orgID: String?,
        applied: [String], blocked: [String], mitigationsEnabled: Bool?, dataCollectionEnabled: Bool?,
        remoteAddress: String?, userAgent: String?, time: Date
    ) {
        self.hostKey = Self.hostKey(serverID: serverID, serverName: serverName)
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
    }

    /// The identity a host's check-ins are grouped under.
    public static func hostKey(serverID: String?, serverName: String?) -> String {
        if let serverID { return serverID.lowercased() }
        return "name:" + (serverName ?? "").lowercased()
    }
}

/// The latest state of a host: its newest check-in, and since when and how often it polled.
///
/// Facts the newest poll left out (say, no `build`) keep the value an earlier poll reported.
public struct HostState: Sendable, Equatable {
    public var latest: CheckIn
    public var firstSeen: Date
    public var pollCount: Int

    public var hostKey: String { latest.hostKey }
    public var lastSeen: Date { latest.time }
}
