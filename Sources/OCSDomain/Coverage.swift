/// Where one published rule stands on one host: exactly one state, decided in the order of the
/// cases (the first that fits wins).
public enum CoverageState: String, CaseIterable, Codable, Sendable {
    /// The host reported no build.
    case unknown
    /// The rule does not apply to the host's build.
    case notApplicable
    /// In scope, and the host has not polled within the stale-after time.
    case stale
    /// In scope, and the host reports the rule blocked.
    case blocked
    /// In scope, and the host reports the rule applied.
    case applied
    /// In scope, and the host reports `mitigationsEnabled=false`.
    case disabled
    /// In scope otherwise: served, not yet applied.
    case pending

    /// The states of hosts the rule applies to.
    public static let inScope: Set<CoverageState> = [.stale, .blocked, .applied, .disabled, .pending]
    /// In scope and not known to be protected.
    public static let exposed: Set<CoverageState> = inScope.subtracting([.applied])
}

/// What decides a host's coverage state: the facts a store can read per host.
public struct CoverageFacts: Hashable, Sendable {
    /// How the rule relates to the host's build.
    public enum Scope: Int, CaseIterable, Sendable {
        case unknownBuild = 0
        case outOfScope = 1
        case inScope = 2
    }

    public var scope: Scope
    public var isStale: Bool
    public var reportsBlocked: Bool
    public var reportsApplied: Bool
    public var mitigationsDisabled: Bool

    public init(scope: Scope, isStale: Bool, reportsBlocked: Bool, reportsApplied: Bool, mitigationsDisabled: Bool) {
        self.scope = scope
        self.isStale = isStale
        self.reportsBlocked = reportsBlocked
        self.reportsApplied = reportsApplied
        self.mitigationsDisabled = mitigationsDisabled
    }

    /// The one state these facts give, in the order of `CoverageState`.
    public var state: CoverageState {
        switch scope {
        case .unknownBuild: return .unknown
        case .outOfScope: return .notApplicable
        case .inScope:
            if isStale { return .stale }
            if reportsBlocked { return .blocked }
            if reportsApplied { return .applied }
            if mitigationsDisabled { return .disabled }
            return .pending
        }
    }

    /// The facts as one small number, `scope` then one bit per fact: how a store groups hosts
    /// (`SELECT code, COUNT(*) ... GROUP BY code`) and selects them (`code IN (...)`).
    public var code: Int {
        scope.rawValue << 4 | (isStale ? 8 : 0) | (reportsBlocked ? 4 : 0) | (reportsApplied ? 2 : 0) | (mitigationsDisabled ? 1 : 0)
    }

    public init?(code: Int) {
        guard let scope = Scope(rawValue: code >> 4), code >= 0 else { return nil }
        self.init(scope: scope, isStale: code & 8 != 0, reportsBlocked: code & 4 != 0, reportsApplied: code & 2 != 0, mitigationsDisabled: code & 1 != 0)
    }

    /// Every combination of facts.
    public static let all: [CoverageFacts] = Scope.allCases.flatMap { scope in
        (0..<16).compactMap { CoverageFacts(code: scope.rawValue << 4 | $0) }
    }

    /// The codes of every combination of facts that gives one of `states`.
    public static func codes(giving states: Set<CoverageState>) -> [Int] {
        all.filter { states.contains($0.state) }.map(\.code)
    }

    /// How `rule` relates to a host that reported `build` (nil: none). A build that does not
    /// parse is out of scope: the feed only records builds that do.
    public static func scope(of rule: Mitigation, build: String?, catalog: BuildCatalog) -> Scope {
        guard let build else { return .unknownBuild }
        guard let parsed = try? ExchangeBuild(parsing: build) else { return .outOfScope }
        guard let applies = rule.applies else { return .inScope }
        return applies.includes(parsed, catalog: catalog) ? .inScope : .outOfScope
    }
}

/// How many hosts are in each coverage state of one rule, with the two sums the issue asks for.
public struct CoverageCounts: Codable, Sendable, Equatable {
    public var total = 0
    public var unknown = 0
    public var notApplicable = 0
    /// `stale + blocked + applied + disabled + pending`.
    public var inScope = 0
    public var stale = 0
    public var blocked = 0
    public var applied = 0
    public var disabled = 0
    public var pending = 0
    /// `inScope - applied`: hosts the rule should protect and is not known to.
    public var exposed = 0
    /// Of `notApplicable`, the hosts a narrowing took the rule from (`RuleNarrowing`) that it
    /// still does not reach: not applicable because someone chose so, not because of their build.
    public var narrowed = 0

    public init() {}

    /// Counts from hosts grouped by their facts' `code`.
    public init(hostsByFactsCode: [(code: Int, hosts: Int)]) {
        for (code, hosts) in hostsByFactsCode {
            guard let facts = CoverageFacts(code: code) else { continue }
            add(facts.state, hosts: hosts)
        }
    }

    public mutating func add(_ state: CoverageState, hosts: Int = 1) {
        total += hosts
        switch state {
        case .unknown: unknown += hosts
        case .notApplicable: notApplicable += hosts
        case .stale: stale += hosts
        case .blocked: blocked += hosts
        case .applied: applied += hosts
        case .disabled: disabled += hosts
        case .pending: pending += hosts
        }
        if CoverageState.inScope.contains(state) { inScope += hosts }
        if CoverageState.exposed.contains(state) { exposed += hosts }
    }

    /// The count of one state.
    public subscript(state: CoverageState) -> Int {
        switch state {
        case .unknown: unknown
        case .notApplicable: notApplicable
        case .stale: stale
        case .blocked: blocked
        case .applied: applied
        case .disabled: disabled
        case .pending: pending
        }
    }
}

/// The hosts `?state=` asks for: one state, or `inScope` or `exposed`, or `narrowed` (the not
/// applicable hosts a narrowing took the rule from).
public struct CoverageSelection: Sendable, Equatable {
    public let name: String
    public let states: Set<CoverageState>
    /// Only hosts a narrowing took the rule from (`CoverageCounts.narrowed`).
    public let narrowed: Bool

    public init?(name: String) {
        narrowed = name == "narrowed"
        if let state = CoverageState(rawValue: name) {
            states = [state]
        } else if name == "inScope" {
            states = CoverageState.inScope
        } else if name == "exposed" {
            states = CoverageState.exposed
        } else if name == "narrowed" {
            states = [.notApplicable]
        } else {
            return nil
        }
        self.name = name
    }

    /// Every name `init(name:)` takes, for messages and help.
    public static let names = CoverageState.allCases.map(\.rawValue) + ["inScope", "exposed", "narrowed"]
}

/// One published rule's coverage: the revision the feed serves and the hosts per state.
public struct RuleCoverage: Codable, Sendable, Equatable {
    public let rule: String
    public let revision: Int
    public let hosts: CoverageCounts

    public init(rule: String, revision: Int, hosts: CoverageCounts) {
        self.rule = rule
        self.revision = revision
        self.hosts = hosts
    }
}
