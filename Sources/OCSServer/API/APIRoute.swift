import NIOHTTP1
import OCSDomain
import OCSStorage

/// An admin API endpoint, resolved from method and path, with the role it needs.
enum APIRoute: Equatable {
    case listRules
    case getRule(String)
    case ruleRevisions(String)
    case ruleImpact(String)
    case putRule(String)
    case publishRule(String)
    case promoteRule(String)
    case retireRule(String)
    case deleteRule(String)
    case listHosts
    case getHost(String)
    case forgetHost(String)
    case revokeHost(String)
    case createEnrollmentTokens
    case ruleCoverage(String)
    case fleet
    case audit
    case listTokens
    case createToken
    case revokeToken(String)
    case listGroups
    case getGroup(String)
    case createGroup
    case deleteGroup(String)
    case listChanges
    case approveChange(Int64)
    case rejectChange(Int64)
    case getPolicy
    case setPolicy
    case listBuilds
    case addBuilds
    case postInventory
    case upstream
    case upstreamDocument(String)

    /// Whether a token of `role` may call it: `role` or more, except that an inventory report
    /// is for the reporter role and those who may change rules, not for readers.
    func allows(_ caller: Role) -> Bool {
        self == .postInventory ? caller.reportsInventory : caller >= role
    }

    /// The role it needs, as a refusal names it.
    var needs: String {
        self == .postInventory ? "reporter, publisher or admin" : role.rawValue
    }

    /// The least role that may call it (an inventory report: see `allows`).
    var role: Role {
        switch self {
        case .postInventory: .reporter
        case .listRules, .getRule, .ruleRevisions, .ruleImpact, .ruleCoverage, .listHosts, .getHost, .fleet, .audit,
             .listGroups, .getGroup, .listChanges, .getPolicy, .listBuilds, .upstream, .upstreamDocument: .reader
        case .putRule, .publishRule, .promoteRule, .retireRule, .deleteRule, .forgetHost, .createGroup, .deleteGroup,
             .approveChange, .rejectChange: .publisher
        case .listTokens, .createToken, .revokeToken, .setPolicy, .addBuilds, .revokeHost, .createEnrollmentTokens: .admin
        }
    }

    /// The audit action of a state-changing call; nil for reads.
    var auditAction: String? {
        switch self {
        case .putRule: "rule.put"
        case .publishRule: "rule.publish"
        case .promoteRule: "rule.promote"
        case .createGroup: "group.create"
        case .deleteGroup: "group.delete"
        case .approveChange: "change.approve"
        case .rejectChange: "change.reject"
        case .setPolicy: "policy.set"
        case .retireRule: "rule.retire"
        case .deleteRule: "rule.delete"
        case .createToken: "token.create"
        case .revokeToken: "token.revoke"
        case .forgetHost: CheckInStore.forgetAction
        case .revokeHost: EnrollmentStore.revokeAction
        case .addBuilds: CatalogStore.addAction
        case .postInventory: CheckInStore.inventoryAction
        default: nil
        }
    }

    /// The rule a call concerns, for the audit trail.
    var ruleID: String? {
        switch self {
        case .getRule(let id), .ruleRevisions(let id), .ruleImpact(let id), .ruleCoverage(let id), .putRule(let id),
             .publishRule(let id), .promoteRule(let id), .retireRule(let id), .deleteRule(let id):
            id
        default:
            nil
        }
    }

    enum Resolution: Equatable {
        case route(APIRoute)
        case notFound
        case methodNotAllowed(allowed: [HTTPMethod])
        /// A rule id, token name or host reference in the path breaks its naming rule; says
        /// which, for a `400`.
        case invalidName(String)
    }

    /// Resolves path segments after `/api/v1/`. Rule ids, token names and host references are
    /// checked here, before anything is looked up or audited: only well-formed names ever reach
    /// the audit trail.
    static func resolve(_ method: HTTPMethod, _ segments: [String]) -> Resolution {
        let naming: [String: (kind: String, form: String, isValid: (String) -> Bool)] = [
            "rules": ("rule id", "use 1 to 64 of A-Z a-z 0-9 . _ -", { RuleValidator.isValidID($0) }),
            "tokens": ("token name", "use 1 to 64 of A-Z a-z 0-9 . _ -", TokenStore.isValidName),
            "hosts": ("host", "use \(HostReference.form)", { HostReference($0) != nil }),
            "groups": ("group name", "use 1 to 64 of A-Z a-z 0-9 . _ -", HostGroup.isValidName),
            "changes": ("change number", "use the number `GET /api/v1/changes` gives", { Int64($0).map { $0 >= 1 } == true }),
            "upstream": ("document digest", "use the 64 lowercase hex digits `GET /api/v1/upstream` gives", { text in
                text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
            }),
        ]
        if segments.count >= 2, let rule = naming[segments[0]], !rule.isValid(segments[1]) {
            return .invalidName("'\(AuditLog.printable(segments[1], maximumBytes: 80))' is not a valid \(rule.kind): \(rule.form)")
        }
        let table: [(HTTPMethod, APIRoute)]
        switch segments.count {
        case 1 where segments[0] == "rules":
            table = [(.GET, .listRules)]
        case 2 where segments[0] == "rules":
            table = [(.GET, .getRule(segments[1])), (.PUT, .putRule(segments[1])), (.DELETE, .deleteRule(segments[1]))]
        case 3 where segments[0] == "rules":
            switch segments[2] {
            case "revisions": table = [(.GET, .ruleRevisions(segments[1]))]
            case "impact": table = [(.GET, .ruleImpact(segments[1]))]
            case "coverage": table = [(.GET, .ruleCoverage(segments[1]))]
            case "publish": table = [(.POST, .publishRule(segments[1]))]
            case "promote": table = [(.POST, .promoteRule(segments[1]))]
            case "retire": table = [(.POST, .retireRule(segments[1]))]
            default: return .notFound
            }
        case 1 where segments[0] == "hosts":
            table = [(.GET, .listHosts)]
        case 2 where segments[0] == "hosts":
            table = [(.GET, .getHost(segments[1])), (.DELETE, .forgetHost(segments[1]))]
        case 3 where segments[0] == "hosts" && segments[2] == "revoke":
            table = [(.POST, .revokeHost(segments[1]))]
        case 1 where segments[0] == "enrollment-tokens":
            table = [(.POST, .createEnrollmentTokens)]
        case 1 where segments[0] == "fleet":
            table = [(.GET, .fleet)]
        case 1 where segments[0] == "audit":
            table = [(.GET, .audit)]
        case 1 where segments[0] == "tokens":
            table = [(.GET, .listTokens), (.POST, .createToken)]
        case 2 where segments[0] == "tokens":
            table = [(.DELETE, .revokeToken(segments[1]))]
        case 1 where segments[0] == "groups":
            table = [(.GET, .listGroups), (.POST, .createGroup)]
        case 2 where segments[0] == "groups":
            table = [(.GET, .getGroup(segments[1])), (.DELETE, .deleteGroup(segments[1]))]
        case 1 where segments[0] == "changes":
            table = [(.GET, .listChanges)]
        case 3 where segments[0] == "changes" && segments[2] == "approve":
            table = [(.POST, .approveChange(Int64(segments[1]) ?? 0))]
        case 3 where segments[0] == "changes" && segments[2] == "reject":
            table = [(.POST, .rejectChange(Int64(segments[1]) ?? 0))]
        case 1 where segments[0] == "policy":
            table = [(.GET, .getPolicy), (.PUT, .setPolicy)]
        case 1 where segments[0] == "builds":
            table = [(.GET, .listBuilds), (.POST, .addBuilds)]
        case 1 where segments[0] == "inventory":
            table = [(.POST, .postInventory)]
        case 1 where segments[0] == "upstream":
            table = [(.GET, .upstream)]
        case 2 where segments[0] == "upstream":
            table = [(.GET, .upstreamDocument(segments[1]))]
        default:
            return .notFound
        }
        if let (_, route) = table.first(where: { $0.0 == method }) { return .route(route) }
        return .methodNotAllowed(allowed: table.map(\.0))
    }
}
