/// What a poll says about its host, as far as groups are concerned: nil where the poll left it
/// out. GUIDs are normalized (lower case, no braces); the name is as sent.
public struct PollingHost: Sendable, Hashable {
    public var serverID: String?
    public var name: String?
    public var orgID: String?

    public init(serverID: String? = nil, name: String? = nil, orgID: String? = nil) {
        self.serverID = serverID
        self.name = name
        self.orgID = orgID
    }

    /// A poll naming no host: it belongs to no group, so it gets only rules released to everyone.
    public static let anonymous = PollingHost()

    public var isAnonymous: Bool { serverID == nil && name == nil }
}

/// A named set of hosts a rule can be released to first (`canary`, `ring1`), evaluated on every
/// poll from what the poll says: membership is never stored per host.
public struct HostGroup: Sendable, Equatable {
    /// How a group picks its hosts.
    public enum Selector: Sendable, Equatable {
        /// These hosts: each a serverId (normalized GUID) or a host name (any case).
        case hosts([String])
        /// Hosts whose name matches one of these patterns, case-insensitively: `*` any run of
        /// characters, `?` one character (`EX19-LAB*`).
        case names([String])
        /// Hosts reporting this organization GUID (normalized).
        case org(String)

        /// `hosts`, `names` or `org`, as the command line and the API name the kinds.
        public var kind: String {
            switch self {
            case .hosts: "hosts"
            case .names: "names"
            case .org: "org"
            }
        }

        /// The members, patterns or GUID, for views.
        public var values: [String] {
            switch self {
            case .hosts(let values), .names(let values): values
            case .org(let guid): [guid]
            }
        }
    }

    public let name: String
    public let selector: Selector

    /// Most hosts or name patterns in one group.
    public static let maximumMembers = 1000

    /// Checks the name and every member; hosts and GUIDs come back normalized.
    public init(name: String, selector: Selector) throws(HostGroupError) {
        guard Self.isValidName(name) else { throw .invalidName(name) }
        switch selector {
        case .hosts(let members), .names(let members):
            guard !members.isEmpty else { throw .invalidMember(group: name, "a group needs at least one \(selector.kind == "hosts" ? "host" : "name pattern")") }
            guard members.count <= Self.maximumMembers else { throw .invalidMember(group: name, "at most \(Self.maximumMembers) members, not \(members.count)") }
        case .org:
            break
        }
        switch selector {
        case .hosts(let members):
            var normalized: [String] = []
            for member in members {
                if let guid = HostIdentity.normalizedGUID(member) {
                    normalized.append(guid)
                } else if HostIdentity.isValidName(member) {
                    normalized.append(member)
                } else {
                    throw .invalidMember(group: name, "'\(member.prefix(80))' is neither a serverId GUID nor a host name (letters, digits, '.', '-', '_')")
                }
            }
            self.selector = .hosts(normalized)
        case .names(let patterns):
            for pattern in patterns where !NamePattern.isValid(pattern) {
                throw .invalidMember(group: name, "'\(pattern.prefix(80))' is not a name pattern: use letters, digits, '.', '-', '_' and the wildcards '*' and '?'")
            }
            self.selector = .names(patterns)
        case .org(let text):
            guard let guid = HostIdentity.normalizedGUID(text) else {
                throw .invalidMember(group: name, "'\(text.prefix(80))' is not an organization GUID like 6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e")
            }
            self.selector = .org(guid)
        }
        self.name = name
    }

    /// Group names take the form of rule ids: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public static func isValidName(_ name: String) -> Bool {
        RuleValidator.isValidID(name)
    }

    /// Whether the polling host is in this group. An anonymous poll is in none.
    public func contains(_ host: PollingHost) -> Bool {
        guard !host.isAnonymous else { return false }
        switch selector {
        case .hosts(let members):
            return members.contains { member in
                member == host.serverID || host.name.map { NamePattern.equalIgnoringCase(member, $0) } == true
            }
        case .names(let patterns):
            guard let name = host.name else { return false }
            return patterns.contains { NamePattern.matches($0, name) }
        case .org(let guid):
            return host.orgID == guid
        }
    }
}

/// Why a group definition was refused.
public enum HostGroupError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidMember(group: String, String)

    public var description: String {
        switch self {
        case .invalidName(let name): "'\(name.prefix(80))' is not a valid group name: use 1 to 64 of A-Z a-z 0-9 . _ -"
        case .invalidMember(let group, let message): "group \(group): \(message)"
        }
    }
}

/// Host-name patterns: ASCII, case-insensitive, `*` and `?` as wildcards.
public enum NamePattern {
    public static func isValid(_ pattern: String) -> Bool {
        !pattern.isEmpty && pattern.utf8.count <= HostIdentity.maximumNameLength
            && HostIdentity.isValidName(String(pattern.map { $0 == "*" || $0 == "?" ? "a" : $0 }))
    }

    static func equalIgnoringCase(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && zip(lhs.utf8, rhs.utf8).allSatisfy { folded($0) == folded($1) }
    }

    /// Glob match over ASCII bytes, case-folded; iterative with one backtrack point, so linear
    /// enough for names of at most 256 bytes whatever the pattern.
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let pattern = Array(pattern.utf8), name = Array(name.utf8)
        var p = 0, n = 0
        var star: Int?, resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = n
                p += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "?") || folded(pattern[p]) == folded(name[n]) {
                p += 1
                n += 1
            } else if let starAt = star {
                p = starAt + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    private static func folded(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 0x20 : byte
    }
}

/// Who a published rule is served to: every host, or only the hosts in some groups (a staged
/// rollout, widened by promotion).
public enum Release: Sendable, Hashable, CustomStringConvertible {
    case everyone
    /// Sorted, without repeats, never empty.
    case groups([String])

    /// Most groups one rule is released to.
    public static let maximumGroups = 32

    /// `.groups` of these names, sorted and without repeats.
    public static func to(_ names: [String]) -> Release {
        .groups(Array(Set(names)).sorted())
    }

    /// `.groups` of names a person gave (command line, dashboard form, API body), checked: at
    /// least one, each a group name, at most `maximumGroups` distinct.
    public static func groups(named names: [String]) throws(ReleaseProblem) -> Release {
        guard !names.isEmpty else { throw .noGroups }
        if let bad = names.first(where: { !HostGroup.isValidName($0) }) { throw .notAGroupName(bad) }
        let distinct = Set(names).count
        guard distinct <= maximumGroups else { throw .tooManyGroups(distinct) }
        return .to(names)
    }

    public var groupNames: [String] {
        switch self {
        case .everyone: []
        case .groups(let names): names
        }
    }

    /// `everyone`, or `groups canary,ring1`.
    public var description: String {
        switch self {
        case .everyone: "everyone"
        case .groups(let names): "groups \(names.joined(separator: ","))"
        }
    }

    /// This release widened by `other`: everyone stays everyone; groups are joined.
    public func widened(by other: Release) -> Release {
        switch (self, other) {
        case (.everyone, _), (_, .everyone): .everyone
        case (.groups(let mine), .groups(let theirs)): .to(mine + theirs)
        }
    }

    /// Whether a host in `groups` (by name) receives the rule. Groups that are not defined match
    /// no host.
    public func reaches(_ host: PollingHost, groups: [String: HostGroup]) -> Bool {
        switch self {
        case .everyone: true
        case .groups(let names): names.contains { groups[$0]?.contains(host) == true }
        }
    }
}

/// The stages of the published rules and the groups they name: decides which published rules a
/// polling host receives. Rules without an entry are released to everyone.
public struct Rollout: Sendable, Equatable {
    public let releases: [String: Release]
    public let groups: [String: HostGroup]

    /// Whether some rule is released to groups only: otherwise every host receives every rule.
    /// Decided once here, not on every poll.
    public let isStaged: Bool

    public init(releases: [String: Release] = [:], groups: [HostGroup] = []) {
        self.releases = releases
        self.groups = Dictionary(groups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        isStaged = releases.values.contains { $0 != .everyone }
    }

    /// Every rule released to everyone.
    public static let everyone = Rollout()

    public func release(of ruleID: String) -> Release {
        releases[ruleID] ?? .everyone
    }

    /// The rules of `rules` this host receives, in their order.
    public func rules(_ rules: [Mitigation], for host: PollingHost) -> [Mitigation] {
        // The usual case, every rule to everyone, costs nothing per poll.
        guard isStaged else { return rules }
        return rules.filter { release(of: $0.id).reaches(host, groups: groups) }
    }

    /// The ids of the rules this host receives, or nil when that is all of them: a cache key
    /// shared by every host that receives the same set.
    public func receivedIDs(of rules: [Mitigation], for host: PollingHost) -> [String]? {
        guard isStaged else { return nil }
        let received = self.rules(rules, for: host)
        return received.count == rules.count ? nil : received.map(\.id)
    }

    /// `receivedIDs(of:for:)` by the rules' ids alone: a disconnected site holds no rules, only
    /// their ids in the published set's order.
    public func receivedIDs(ofIDs ids: [String], for host: PollingHost) -> [String]? {
        guard isStaged else { return nil }
        let received = ids.filter { release(of: $0).reaches(host, groups: groups) }
        return received.count == ids.count ? nil : received
    }

    /// Every value `receivedIDs(ofIDs:for:)` can take for some host, whatever groups it is in:
    /// the rules released to everyone joined with those of each set of groups. Nil when there are
    /// more than `limit`. A group's membership is decided per poll, so every set of groups counts.
    public func receivableSets(ofIDs ids: [String], limit: Int) -> [[String]?]? {
        guard isStaged else { return [nil] }
        // Each set as which rules it holds; grown group by group, kept distinct.
        let everyone = ids.map { release(of: $0) == .everyone }
        var sets: [[Bool]] = [everyone]
        var seen: Set<[Bool]> = [everyone]
        let names = Set(ids.flatMap { release(of: $0).groupNames }).filter { groups[$0] != nil }.sorted()
        for name in names {
            let reached = ids.map { release(of: $0).groupNames.contains(name) }
            for set in sets {
                let joined = zip(set, reached).map { $0 || $1 }
                guard seen.insert(joined).inserted else { continue }
                guard sets.count < limit else { return nil }
                sets.append(joined)
            }
        }
        return sets.map { set in
            set.allSatisfy { $0 } ? nil : zip(ids, set).compactMap { $1 ? $0 : nil }
        }
    }
}

/// Why names given for a release cannot be one; each caller says which field was wrong.
public enum ReleaseProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case noGroups
    case notAGroupName(String)
    case tooManyGroups(Int)

    public var description: String {
        switch self {
        case .noGroups: "expected a list of 1 to \(Release.maximumGroups) group names"
        case .notAGroupName(let name):
            "'\(OneLineText.escaping(name, maximumBytes: 80))' is not a group name: use comma-separated names of 1 to 64 of A-Z a-z 0-9 . _ -"
        case .tooManyGroups(let count): "at most \(Release.maximumGroups) groups, not \(count)"
        }
    }
}
