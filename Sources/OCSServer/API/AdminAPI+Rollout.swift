import Foundation
import NIOHTTP1
import OCSDomain
import OCSOperations
import OCSRuleFiles
import OCSStorage

/// The staged-rollout and approval part of the admin API: publish, promote and retire through
/// two-person approval, host groups, pending changes and the policy.
extension AdminAPI {
    /// Publish, promote, retire and approve: each one operation, answered with the serial it committed.
    func handleChange(_ route: APIRoute, _ request: HTTPRequest, caller: APIToken, context: ChangeContext) throws -> Answer {
        let lifecycle = operations.lifecycle
        func asked(_ body: ChangeBody) throws -> RuleOperations.Request {
            RuleOperations.Request(context: context, role: caller.role, emergency: body.emergency, expectedRevision: try Self.expectedRevision(request))
        }
        let outcome: ChangeOutcome
        switch route {
        case .publishRule(let id):
            let body = try Self.changeBody(request, allowed: ["revision", "to", "everyone", "emergency", "narrow"])
            outcome = try lifecycle.publish(id, revision: body.revision, to: body.release, narrow: body.narrow, try asked(body))
        case .promoteRule(let id):
            let body = try Self.changeBody(request, allowed: ["to", "everyone", "emergency"])
            guard let release = body.release else {
                throw APIInputError(response: Self.problems(.unprocessableEntity, [ProblemView(field: "to", message: "say how far: {\"to\": [\"ring1\"]} or {\"everyone\": true}")]))
            }
            outcome = try lifecycle.promote(id, to: release, try asked(body))
        case .retireRule(let id):
            let body = try Self.changeBody(request, allowed: ["emergency", "narrow"])
            outcome = try lifecycle.retire(id, narrow: body.narrow, try asked(body))
        case .approveChange(let number):
            outcome = .applied(try lifecycle.approve(number, context: context))
        default:
            return Answer(Self.error(.notFound, "no such API endpoint"))
        }
        switch outcome {
        case .applied(let change): return Answer(Self.ruleResponse(.ok, change.record), serial: change.serial)
        case .pending(let pending): return Answer(Self.json(.accepted, ChangeView(pending)))
        }
    }

    /// Groups, the list of changes, rejecting one, and the policy.
    func handleRollout(_ route: APIRoute, _ request: HTTPRequest, query: [String: String], caller: APIToken, context: ChangeContext) throws -> HTTPResponse {
        switch route {
        case .listGroups:
            return Self.ok(PageView(try groups.groups(page: try Self.page(query, .groups)), GroupView.init))
        case .getGroup(let name):
            guard let record = try groups.group(named: name) else { return Self.error(.notFound, HostGroupChangeError.notFound(name).description) }
            return Self.ok(GroupView(record))
        case .createGroup:
            let (name, selector) = try Self.groupBody(request)
            do {
                return Self.json(.created, GroupView(try groups.create(name: name, selector: selector, context: context)))
            } catch {
                throw OperationError(error)
            }
        case .deleteGroup(let name):
            do {
                try groups.delete(name: name, context: context)
            } catch {
                throw OperationError(error)
            }
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
        case .rejectChange(let number):
            return Self.ok(ChangeView(try operations.lifecycle.reject(number, context: context)))
        case .getPolicy:
            return Self.ok(PolicyView(requireApproval: try changes.requiresApproval()))
        case .setPolicy:
            let body = try Self.jsonBody(request, required: true)
            guard let object = body?.object, Set(object.keys) == [ChangeStore.requireApproval],
                  let value = object[ChangeStore.requireApproval]?.string, value == "on" || value == "off"
            else {
                return Self.problems(.unprocessableEntity, [ProblemView(field: ChangeStore.requireApproval, message: "expected {\"require-approval\": \"on\"} or \"off\"")])
            }
            try operations.lifecycle.setRequireApproval(value == "on", context: context)
            return Self.ok(PolicyView(requireApproval: value == "on"))
        default:
            return Self.error(.notFound, "no such API endpoint")
        }
    }

    /// The body of publish, promote and retire; every part optional.
    struct ChangeBody {
        var revision: Int?
        var release: Release?
        var emergency = false
        /// Publish even if hosts that have the rule applied would stop being served it.
        var narrow = false
    }

    /// `{"revision": N, "to": [GROUP, ...], "everyone": true, "emergency": true, "narrow": true}`, only the
    /// `allowed` keys, or no body: `422` naming the field otherwise.
    static func changeBody(_ request: HTTPRequest, allowed: Set<String>) throws -> ChangeBody {
        var body = ChangeBody()
        guard let value = try jsonBody(request, required: false) else { return body }
        let expected = "expected an object with " + allowed.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + ", or no body"
        let fields = try fields(of: value, allowed: allowed, expected: expected)
        if let revision = fields["revision"] {
            guard let number = revision.integer, number >= 1 else { throw refusal("revision", "expected {\"revision\": N} with N a revision number") }
            body.revision = number
        }
        for name in ["everyone", "emergency", "narrow"] {
            guard let field = fields[name] else { continue }
            guard let flag = field.bool else { throw refusal(name, "\(name) is true or false") }
            switch name {
            case "everyone": body.release = flag ? .everyone : nil
            case "emergency": body.emergency = flag
            default: body.narrow = flag
            }
        }
        if let to = fields["to"] {
            guard let names = to.strings else { throw refusal("to", "to is a list of group names") }
            guard body.release == nil else { throw refusal("to", "give \"to\" or \"everyone\", not both") }
            do throws(ReleaseProblem) {
                body.release = try Release.groups(named: names)
            } catch {
                throw refusal("to", error.description)
            }
        }
        return body
    }

    /// `{"name": NAME, "hosts": [...]}`, or `"names": [...]`, or `"org": GUID`.
    static func groupBody(_ request: HTTPRequest) throws -> (String, HostGroup.Selector) {
        let expected = "expected {\"name\": NAME, and one of \"hosts\": [ID, ...], \"names\": [PATTERN, ...], \"org\": GUID}"
        guard let object = try jsonBody(request, required: true)?.object, let name = object["name"]?.string else {
            throw refusal("name", expected)
        }
        let kinds = Set(object.keys).subtracting(["name"])
        guard kinds.count == 1, let kind = kinds.first, let value = object[kind] else {
            throw refusal(kinds.sorted().last ?? "hosts", expected)
        }
        switch kind {
        case "hosts": if let hosts = value.strings { return (name, .hosts(hosts)) }
        case "names": if let names = value.strings { return (name, .names(names)) }
        case "org": if let org = value.string { return (name, .org(org)) }
        default: break
        }
        throw refusal(kind, expected)
    }
}
