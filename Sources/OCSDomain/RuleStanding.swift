import Foundation

/// Where one published rule stands on one host, and why in words: what a host's page shows for
/// every rule, so that "exposed" or "not applicable" is never a bare word under an incident. The
/// state is the one coverage counts (`CoverageFacts`), decided by the same facts.
public struct RuleStanding: Sendable, Equatable {
    public let rule: String
    public let state: CoverageState
    public let reason: String
    /// The narrowing that took the rule from this host, while the rule still does not reach it:
    /// such a host is not applicable because someone chose so, and stays visible as such.
    public let narrowed: RuleNarrowing?

    public init(rule: String, state: CoverageState, reason: String, narrowed: RuleNarrowing? = nil) {
        self.rule = rule
        self.state = state
        self.reason = reason
        self.narrowed = narrowed
    }

    /// The state in words: `removed by narrowing` for a host a narrowing took the rule from.
    public var label: String { narrowed == nil ? state.label : "removed by narrowing" }

    /// `rule` as released by `rollout`, on `host` as it last reported, judged by `catalog`;
    /// `narrowed`, the narrowing recorded for this rule and host, if any.
    public init(of rule: Mitigation, rollout: Rollout, on host: HostState, staleSince: Date, catalog: BuildCatalog, narrowed: RuleNarrowing? = nil) {
        let latest = host.latest
        let polling = PollingHost(serverID: latest.serverID, name: latest.serverName, orgID: latest.orgID)
        let release = rollout.release(of: rule.id)
        var scope = CoverageFacts.scope(of: rule, build: latest.build, catalog: catalog)
        let reached = release.reaches(polling, groups: rollout.groups)
        if scope == .inScope && !reached { scope = .outOfScope }
        let facts = CoverageFacts(
            scope: scope, isStale: host.lastSeen < staleSince, reportsBlocked: latest.blocked.contains(rule.id),
            reportsApplied: latest.applied.contains(rule.id), mitigationsDisabled: latest.mitigationsEnabled == false
        )
        let reason: String
        switch facts.state {
        case .unknown:
            reason = "the host reported no build, so whether the rule applies cannot be told"
        case .notApplicable:
            if let narrowed {
                let why = narrowed.reason.map { ": \($0)" } ?? ""
                reason = "it had the rule applied, and revision \(narrowed.revision) published "
                    + "\(ISO8601DateFormatter().string(from: narrowed.time)) no longer serves it to this host\(why)"
            } else if !reached {
                reason = "outside the rule's release (\(release)): the feed does not serve it to this host"
            } else if let update = rule.applies?.fixedBy {
                reason = "its build \(latest.build ?? "-") is not one the rule applies to (fixed by \(update) on its branch, or another product)"
            } else {
                reason = "its build \(latest.build ?? "-") is not one the rule applies to"
            }
        case .stale:
            reason = "exposed: no poll since \(ISO8601DateFormatter().string(from: host.lastSeen)), so what it has now is not known"
        case .blocked:
            reason = "exposed: the host blocks it (MitigationsBlocked)"
        case .applied:
            reason = host.verified
                ? "protected: the host reports it applied"
                : "reported applied, by a host that did not enroll: anyone could have sent that, so count it as protected only once it enrolls"
        case .disabled:
            reason = "exposed: auto-apply is off on the host (mitigationsEnabled false)"
        case .pending:
            reason = "exposed: served to the host, not reported applied yet"
        }
        self.init(rule: rule.id, state: facts.state, reason: reason, narrowed: facts.state == .notApplicable ? narrowed : nil)
    }
}

/// A narrowing as one host saw it: a publish allowed to narrow (`--narrow`) stopped serving
/// `rule` to this host while it reported the rule applied, so its agent removed it.
public struct RuleNarrowing: Sendable, Equatable {
    public let rule: String
    public let hostID: Int64
    /// When the narrowing was published, the revision it served, and the reason given for it.
    public let time: Date
    public let revision: Int
    public let reason: String?

    public init(rule: String, hostID: Int64, time: Date, revision: Int, reason: String?) {
        self.rule = rule
        self.hostID = hostID
        self.time = time
        self.revision = revision
        self.reason = reason
    }
}

extension CoverageState {
    /// The state in words, as pages show it (`not applicable`, not `notApplicable`).
    public var label: String {
        switch self {
        case .notApplicable: "not applicable"
        default: rawValue
        }
    }
}
