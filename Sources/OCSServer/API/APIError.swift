import Logging
import NIOHTTP1
import OCSDomain
import OCSOperations
import OCSStorage

/// An error that is its own answer, as Hummingbird's `HTTPResponseError`: the admin API renders
/// every refusal through this one conformance, in one `catch`.
protocol APIError: Error {
    /// The answer; `logger` hears of failures the caller is only told are internal.
    func response(logger: Logger) -> HTTPResponse
    /// Whether the refusal is in the audit trail already (a store transaction audited it).
    var isAudited: Bool { get }
}

/// A request the API refuses before touching data; carries its response.
struct APIInputError: APIError {
    let response: HTTPResponse

    func response(logger: Logger) -> HTTPResponse { response }
    var isAudited: Bool { false }
}

extension OperationError: APIError {
    var isAudited: Bool {
        switch self {
        case .rule, .decision, .group, .host, .inventory: true
        case .token, .enrollment, .catalog, .upstream, .site, .emergencyNeedsReason, .emergencyNeedsAdmin, .storage: false
        }
    }

    /// The status and words of each refusal, for an API caller.
    func response(logger: Logger) -> HTTPResponse {
        switch self {
        case .rule(let error): Self.response(error)
        case .decision(.notFound): AdminAPI.error(.notFound, description)
        case .decision(.ownChange): AdminAPI.error(.forbidden, description)
        case .decision(.expired), .decision(.decided), .decision(.rule(.stale)): AdminAPI.error(.conflict, description)
        case .decision(.rule(let error)): Self.response(error)
        case .group(.invalid(.invalidName)): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "name", message: description)])
        case .group(.invalid), .group(.unknownHost): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "members", message: description)])
        case .group(.exists), .group(.inUse), .group(.inPendingChanges): AdminAPI.error(.conflict, description)
        case .group(.notFound), .host(.notFound), .token(.notFound): AdminAPI.error(.notFound, description)
        case .token(.invalidName): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "name", message: description)])
        case .token(.nameTaken), .host(.notEnrolled): AdminAPI.error(.conflict, description)
        case .enrollment(.invalidCount): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "count", message: description)])
        case .enrollment(.invalidValidity): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "validForHours", message: description)])
        case .enrollment(.invalidServerID): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "serverId", message: description)])
        case .enrollment(.invalidName): AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "server", message: description)])
        case .enrollment(.unknownToken), .enrollment(.usedToken), .enrollment(.expiredToken): AdminAPI.error(.unauthorized, description)
        case .inventory(let refusal):
            AdminAPI.problems(.unprocessableEntity, [ProblemView(field: refusal.property ?? "", message: description)])
        case .upstream, .site: AdminAPI.error(.unprocessableEntity, description)
        case .emergencyNeedsReason: AdminAPI.error(.badRequest, "an emergency change needs a reason: add ?reason= with the incident or ticket id")
        case .emergencyNeedsAdmin(let actor, let role):
            AdminAPI.error(.forbidden, "token '\(actor)' has role \(role.rawValue): only an admin may apply a change alone as an emergency")
        case .catalog(.invalid(let problems)):
            AdminAPI.problems(.unprocessableEntity, problems.map { ProblemView(field: $0.line.map { "[\($0 - 1)]" } ?? "", message: $0.message) })
        case .catalog(.needsApproval(let rules)):
            AdminAPI.error(.forbidden, "require-approval is on and these builds change which builds published rules apply to (\(rules.joined(separator: ", "))): an admin may add them alone as an emergency, ?emergency=true&reason=INCIDENT (audited); nothing was added")
        case .storage, .group(.storage), .host(.storage), .token(.storage), .catalog(.storage), .enrollment(.storage):
            internalError(logger)
        }
    }

    private static func response(_ error: RuleChangeError) -> HTTPResponse {
        switch error {
        case .notFound(let id): AdminAPI.notFound(id)
        case .noSuchRevision: AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "revision", message: error.description)])
        case .unknownGroups: AdminAPI.problems(.unprocessableEntity, [ProblemView(field: "to", message: error.description)])
        case .releaseRequired(let id, let state):
            AdminAPI.problems(.unprocessableEntity, [ProblemView(
                field: "to", message: "rule \(id) is \(state): say who receives it, {\"to\": [\"canary\"]} (a staged rollout) or {\"everyone\": true}"
            )])
        case .unpublishable, .conflict, .pendingChange: AdminAPI.error(.conflict, error.description)
        case .narrowing(let id, let hosts):
            AdminAPI.error(.conflict, "this change to rule \(id) would stop serving it to \(hosts) \(hosts == 1 ? "host that has" : "hosts that have") it applied: their agents would remove it. Nothing was changed; to do it anyway, add \"narrow\": true")
        case .narrowingNeedsReason(let id, let hosts):
            AdminAPI.problems(.unprocessableEntity, [ProblemView(
                field: "reason", message: "this change to rule \(id) takes it from \(hosts) \(hosts == 1 ? "host that has" : "hosts that have") it applied: say why with ?reason=. Nothing was changed"
            )])
        case .stale: AdminAPI.error(.preconditionFailed, error.description)
        case .storage: AdminAPI.error(.internalServerError, "internal error: see the server log")
        }
    }

    private func internalError(_ logger: Logger) -> HTTPResponse {
        logger.error("admin API operation failed", metadata: ["error": "\(self)"])
        return AdminAPI.error(.internalServerError, "internal error: see the server log")
    }
}
