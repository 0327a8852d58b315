import Foundation

/// Bounds on what polls may add to the database, so that no client, whatever it sends, grows
/// the hosts, their history or the fleet views without limit. A poll over a bound is still
/// served its feed; only its check-in is not kept.
public struct CheckInLimits: Sendable, Equatable {
    /// Most hosts kept: a poll that would add one more is not recorded.
    public var maximumHosts: Int
    /// Most new hosts one source address adds in a minute. Behind a proxy that hides client
    /// addresses every host shares one address: raise it for a large first roll-out there.
    public var newHostsPerAddressPerMinute: Int
    /// Most history entries one host adds in an hour; a change past that updates the host (what
    /// it reports now stays true) without an entry.
    public var historyEntriesPerHostPerHour: Int

    public init(maximumHosts: Int, newHostsPerAddressPerMinute: Int, historyEntriesPerHostPerHour: Int) {
        precondition(maximumHosts > 0 && newHostsPerAddressPerMinute > 0 && historyEntriesPerHostPerHour > 0)
        self.maximumHosts = maximumHosts
        self.newHostsPerAddressPerMinute = newHostsPerAddressPerMinute
        self.historyEntriesPerHostPerHour = historyEntriesPerHostPerHour
    }

    /// Room for a large Exchange estate (hundreds of servers) many times over, while a flood
    /// stops at a few tens of megabytes.
    public static let standard = CheckInLimits(maximumHosts: 10_000, newHostsPerAddressPerMinute: 120, historyEntriesPerHostPerHour: 12)
}

/// What became of one poll's check-in.
public enum CheckInOutcome: Sendable, Equatable {
    /// The host was added or updated, with a history entry when what it reports changed.
    case recorded
    /// The host was updated, but it already added its hour's most history entries.
    case recordedWithoutHistory
    /// Nothing was written.
    case refused(CheckInRefusal)

    public var isRecorded: Bool {
        if case .refused = self { return false }
        return true
    }
}

/// Why a check-in was not recorded; the raw value names it in metrics and logs.
public enum CheckInRefusal: String, Sendable, CaseIterable {
    /// A poll with a name and no serverId, naming a host that reported a serverId: without it the
    /// poll cannot be told from anyone else's, so it changes nothing.
    case nameOfIdentifiedHost = "name-of-identified-host"
    /// The database holds `CheckInLimits.maximumHosts` hosts.
    case maximumHosts = "max-hosts"
    /// The poll's address added `CheckInLimits.newHostsPerAddressPerMinute` hosts in the last minute.
    case newHostRate = "new-host-rate"
    /// A poll without a credential while the server records only enrolled hosts (`--check-ins enrolled`).
    case unauthenticated = "unauthenticated"
    /// A poll without a credential for a host that enrolled: only its credential changes it.
    case enrolledHost = "enrolled-host"
    /// A poll without a credential for a host that `Get-ExchangeServer` reports (its Microsoft EM
    /// service's record): only those reports change it, until an agent enrolls as that server.
    case inventoryHost = "inventory-host"
    /// A poll for a host a disconnected site's check-in files report: only those files change it.
    case siteHost = "site-host"
    /// A credential no live host holds (revoked, replaced by a re-enrollment, never issued), or
    /// another host's serverId with it. Its poll is answered 401 so the agent knows to enroll again.
    case invalidCredential = "invalid-credential"
}

/// Which check-ins a server records (`ocs serve --check-ins`).
public enum CheckInAcceptance: String, Sendable, CaseIterable {
    /// Only those of enrolled hosts, carrying their credential: nobody else can add a host or
    /// change one. Polls without a credential are still served.
    case enrolled
    /// Also those without a credential, from hosts that did not enroll (unverified hosts); they
    /// still never change an enrolled host.
    case any
}

/// A committed batch of check-ins: the rule-set serial its transaction saw, and each
/// check-in's outcome in the order given.
public struct CheckInBatch: Sendable, Equatable {
    public let serial: Int64
    public let outcomes: [CheckInOutcome]

    public init(serial: Int64, outcomes: [CheckInOutcome]) {
        self.serial = serial
        self.outcomes = outcomes
    }
}
