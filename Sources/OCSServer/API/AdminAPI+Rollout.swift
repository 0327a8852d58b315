import Foundation
import NIOHTTP1
import OCSDomain
import OCSStorage

/// The staged-rollout and approval part of the admin API: publish, promote and retire through
/// two-person approval, host groups, pending changes and the policy.
extension AdminAPI {
    func handleRollout(_ route: APIRoute, _ request: HTTPRequest, query: [String: String], caller: APIToken, context: ChangeContext) throws -> HTTPResponse {
        switch route {
        case .publishRule(let id):
            let body = try Self.changeBody(request, allowed: ["revision", "to", "everyone", "emergency"])
            guard let record = try rules.record(id: id) else { return Self.notFound(id) }
            guard body.release != nil || record.rule.state == .published else {
                return Self.problems(.unprocessableEntity, [ProblemView(
                    field: "to", message: "rule \(id) is \(record.rule.state.rawValue): say who receives it, {\"to\": [\"canary\"]} (a staged rollout) or {\"everyone\": true}"
                )])
            }
            return try submit(.publish(id: id, revision: body.revision, release: body.release), body, request, caller: caller, context: context)
        case .promoteRule(let id):
            let body = try Self.changeBody(request, allowed: ["to", "everyone", "emergency"])
            guard let release = body.release else {
                return Self.problems(.unprocessableEntity, [ProblemView(field: "to", message: "say how far: {\"to\": [\"ring1\"]} or {\"everyone\": true}")])
            }
            return try submit(.promote(id: id, release: release), body, request, caller: caller, context: context)
        case .retireRule(let id):
            let body = try Self.changeBody(request, allowed: ["emergency"])
            return try submit(.retire(id: id), body, request, caller: caller, context: context)
        case .listGroups:
            return Self.ok(PageView(try groups.groups(page: try Self.page(query, .groups)), GroupView.init))
        case .getGroup(let name):
            guard let record = try groups.group(named: name) else { return Self.error(.notFound, HostGroupChangeError.notFound(name).description) }
            return Self.ok(GroupView(record))
        case .createGroup:
            let (name, selector) = try Self.groupBody(request)
            return Self.json(.created, GroupView(try groups.create(name: name, selector: selector, context: context)))
        case .deleteGroup(let name):
            try groups.delete(name: name, context: context)
            return HTTPResponse(status: .noContent)
        case .listChanges:
            var state: PendingChange.State?
            if let text = query["state"] {
                guard let parsed = PendingChange.State(rawValue: text) else {
                    return Self.error(.badRequest, "state '\(text.prefix(40))' is not one of \(PendingChange.State.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            return Self.ok(PageView(try changes.changes(state: state, page: try Self.page(query, .changes)), ChangeView.init))
        case .approveChange(let number):
            return Self.ruleResponse(.ok, try changes.approve(number, context: context))
        case .rejectChange(let number):
            try changes.reject(number, context: context)
            guard let change = try changes.change(number) else { throw ChangeDecisionError.notFound(number) }
            return Self.ok(ChangeView(change))
        case .getPolicy:
            return Self.ok(PolicyView(requireApproval: try changes.requiresApproval()))
        case .setPolicy:
            let text = try Self.jsonBody(request, required: true)
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], Set(object.keys) == [ChangeStore.requireApproval],
                  let value = object[ChangeStore.requireApproval] as? String, value == "on" || value == "off"
            else {
                return Self.problems(.unprocessableEntity, [ProblemView(field: ChangeStore.requireApproval, message: "expected {\"require-approval\": \"on\"} or \"off\"")])
            }
            try changes.setRequireApproval(value == "on", context: context)
            return Self.ok(PolicyView(requireApproval: value == "on"))
        default:
            return Self.error(.notFound, "no such API endpoint")
        }
    }

    /// Applied now (`200` and the rule) or held for approval (`202` and the change).
    private func submit(_ change: RuleChangeRequest, _ body: ChangeBody, _ request: HTTPRequest, caller: APIToken, context: ChangeContext) throws -> HTTPResponse {
        if body.emergency {
            guard caller.role >= .admin else {
                return Self.error(.forbidden, "token '\(caller.name)' has role \(caller.role.rawValue): only an admin may apply a change alone as an emergency")
            }
            guard context.reason != nil else {
                return Self.error(.badRequest, "an emergency change needs a reason: add ?reason= with the incident or ticket id")
            }
        }
        switch try changes.submit(change, expectedRevision: try Self.expectedRevision(request), context: context, emergency: body.emergency) {
        case .applied(let record): return Self.ruleResponse(.ok, record)
        case .pending(let pending): return Self.json(.accepted, ChangeView(pending))
        }
    }

    /// The body of publish, promote and retire; every part optional.
    struct ChangeBody {
        var revision: Int?
        var release: Release?
        var emergency = false
    }

    /// `{"revision": N, "to": [GROUP, ...], "everyone": true, "emergency": true}`, only the
    /// `allowed` keys, or no body: `422` naming the field otherwise.
    static func changeBody(_ request: HTTPRequest, allowed: Set<String>) throws -> ChangeBody {
        let text = try jsonBody(request, required: false)
        var body = ChangeBody()
        guard !text.isEmpty else { return body }
        let expected = "expected an object with " + allowed.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + ", or no body"
        func refuse(_ field: String, _ message: String) -> APIInputError {
            APIInputError(response: problems(.unprocessableEntity, [ProblemView(field: field, message: message)]))
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw refuse("", expected) }
        if let unknown = Set(object.keys).subtracting(allowed).sorted().first { throw refuse(unknown, "unknown field: \(expected)") }
        struct Fields: Decodable { let revision: Int?; let to: [String]?; let everyone: Bool?; let emergency: Bool? }
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(text.utf8)) else {
            throw refuse("", "\(expected): revision a number, to a list of group names, everyone and emergency true or false")
        }
        if let revision = fields.revision {
            guard revision >= 1 else { throw refuse("revision", "expected {\"revision\": N} with N a revision number") }
            body.revision = revision
        }
        if fields.everyone == true { body.release = .everyone }
        body.emergency = fields.emergency ?? false
        if let names = fields.to {
            guard body.release == nil else { throw refuse("to", "give \"to\" or \"everyone\", not both") }
            do throws(ReleaseProblem) {
                body.release = try Release.groups(named: names)
            } catch {
                throw refuse("to", error.description)
            }
        }
        return body
    }

    /// `{"name": NAME, "hosts": [...]}`, or `"names": [...]`, or `"org": GUID`.
    static func groupBody(_ request: HTTPRequest) throws -> (String, HostGroup.Selector) {
        let text = try jsonBody(request, required: true)
        let expected = "expected {\"name\": NAME, and one of \"hosts\": [ID, ...], \"names\": [PATTERN, ...], \"org\": GUID}"
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let name = object["name"] as? String else {
            throw APIInputError(response: problems(.unprocessableEntity, [ProblemView(field: "name", message: expected)]))
        }
        let kinds = Set(object.keys).subtracting(["name"])
        guard kinds.count == 1, let kind = kinds.first else {
            throw APIInputError(response: problems(.unprocessableEntity, [ProblemView(field: kinds.sorted().last ?? "hosts", message: expected)]))
        }
        switch (kind, object[kind]) {
        case ("hosts", let hosts as [String]): return (name, .hosts(hosts))
        case ("names", let names as [String]): return (name, .names(names))
        case ("org", let org as String): return (name, .org(org))
        default: throw APIInputError(response: problems(.unprocessableEntity, [ProblemView(field: kind, message: expected)]))
        }
    }

    func refusal(_ error: HostGroupChangeError) -> HTTPResponse {
        switch error {
        case .invalid(.invalidName): return Self.problems(.unprocessableEntity, [ProblemView(field: "name", message: error.description)])
        case .invalid, .unknownHost: return Self.problems(.unprocessableEntity, [ProblemView(field: "members", message: error.description)])
        case .exists, .inUse, .inPendingChanges: return Self.error(.conflict, error.description)
        case .notFound: return Self.error(.notFound, error.description)
        case .storage:
            logger.error("group change failed", metadata: ["error": "\(error)"])
            return Self.error(.internalServerError, "internal error: see the server log")
        }
    }

    func refusal(_ error: ChangeDecisionError) -> HTTPResponse {
        switch error {
        case .notFound: return Self.error(.notFound, error.description)
        case .ownChange: return Self.error(.forbidden, error.description)
        case .expired, .decided, .rule(.stale): return Self.error(.conflict, error.description)
        case .rule(let rule): return refusal(rule)
        }
    }
}
