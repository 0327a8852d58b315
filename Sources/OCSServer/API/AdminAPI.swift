import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDomain
import OCSFeed
import OCSOperations
import OCSRuleFiles
import OCSStorage

/// The JSON admin API under `/api/v1/`: bearer-token authentication, role checks, the rule
/// lifecycle, hosts, fleet coverage, the audit trail and tokens. Every call runs on the thread
/// pool: each one reads or writes the database.
struct AdminAPI: Sendable {
    static let prefix = "/api/v1/"

    let operations: Operations
    /// Told the serial each change committed, so the next poll is served it.
    let feeds: FeedService
    /// A host that has not polled for this long is stale.
    let staleAfterSeconds: Int
    let threadPool: NIOThreadPool
    let logger: Logger

    var rules: RuleStore { operations.rules }
    var checkIns: CheckInStore { operations.checkIns }
    var fleet: FleetStore { operations.fleet }
    var audit: AuditLog { operations.audit }
    var tokens: TokenStore { operations.tokens }
    var groups: HostGroupStore { operations.groups }
    var changes: ChangeStore { operations.changes }
    /// The catalog in effect: embedded plus the rows added to the database, read per call.
    var catalogs: CatalogStore { operations.catalogs }

    /// Decides at the head, before any body is read: a body over the limit is refused, and so is
    /// a caller without a valid token, whose body would be read for nothing.
    func admit(_ head: HTTPRequestHead, on eventLoop: any EventLoop) -> Admission {
        if let length = head.contentLength, length > HTTPRequest.maximumBodySize {
            return .refuse(Self.error(.payloadTooLarge, "the body is larger than \(HTTPRequest.maximumBodySize) bytes"))
        }
        guard let secret = head.headers.bearerToken else { return .refuse(Self.unauthorized) }
        let decision = threadPool.runIfActive(eventLoop: eventLoop) { [tokens] in
            try tokens.authenticate(secret).map { Admission.accept(.api(caller: $0)) } ?? .refuse(Self.unauthorized)
        }.recover { [logger] error in
            logger.error("token lookup failed", metadata: ["error": "\(error)"])
            return .refuse(Self.error(.internalServerError, "internal error: see the server log"))
        }
        return .decideLater(decision)
    }

    static var unauthorized: HTTPResponse {
        var response = error(.unauthorized, "a valid API token is required: send Authorization: Bearer TOKEN (ocs tokens create makes one)")
        response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"ocs\"")
        return response
    }

    /// One trip off the event loop: the call, then the serial it committed noted (or, for a change
    /// that does not say, read again), so the poll after the answer is served the change.
    func respond(to request: HTTPRequest, caller: APIToken, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        threadPool.runIfActive(eventLoop: eventLoop) { [feeds, logger] in
            let (response, serial) = handle(request, caller: caller)
            if let serial {
                feeds.noteSerial(serial)
            } else if request.head.method != .GET && request.head.method != .HEAD {
                do {
                    try feeds.refreshSerial()
                } catch {
                    // The answer stands; the serial watcher brings the change within its interval.
                    logger.error("reading the rule-set serial after a change failed", metadata: ["error": "\(error)"])
                }
            }
            return response
        }.flatMapErrorThrowing { [logger] error in
            logger.error("admin API request failed", metadata: ["error": "\(error)"])
            return Self.error(.internalServerError, "internal error: see the server log")
        }
    }

    /// Answers one request from an authenticated caller, with the serial a change committed.
    /// Every refusal takes one path: an `APIError` is its own answer, audited here unless the
    /// operation audited it. Blocking.
    func handle(_ request: HTTPRequest, caller: APIToken) -> (HTTPResponse, serial: Int64?) {
        guard let components = URLComponents(string: request.head.uri), components.path.hasPrefix(Self.prefix) else {
            return (Self.error(.badRequest, "the request URI is not valid: percent-encode special characters"), nil)
        }
        let segments = components.path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let route: APIRoute
        switch APIRoute.resolve(request.head.method, segments) {
        case .notFound:
            return (Self.error(.notFound, "no such API endpoint: \(AuditLog.printable(components.path, maximumBytes: 200))"), nil)
        case .invalidName(let message):
            return (Self.error(.badRequest, message), nil)
        case .methodNotAllowed(let allowed):
            var response = Self.error(.methodNotAllowed, "method \(request.head.method.rawValue) not allowed here: use \(allowed.map(\.rawValue).joined(separator: " or "))")
            response.headers.add(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", "))
            return (response, nil)
        case .route(let resolved):
            route = resolved
        }

        // `?reason=` of a state-changing call: checked before anything is changed or audited with it.
        let reason = route.auditAction == nil ? nil : components.queryItems?.first { $0.name == "reason" }.map { $0.value ?? "" }
        let reasonProblem = reason.flatMap(ChangeContext.problem(withReason:))
        let context = ChangeContext(actor: caller.name, remoteAddress: request.remoteAddress, reason: reasonProblem == nil ? reason : nil)
        var answer: Answer
        var audited = false
        do {
            if let reasonProblem { throw APIInputError(response: Self.error(.badRequest, reasonProblem)) }
            guard route.allows(caller.role) else {
                throw APIInputError(response: Self.error(.forbidden, "token '\(caller.name)' has role \(caller.role.rawValue); this needs \(route.needs)"))
            }
            answer = try handle(route, request, components: components, caller: caller, context: context)
        } catch let error as any APIError {
            answer = Answer(error.response(logger: logger))
            audited = error.isAudited
        } catch {
            logger.error("admin API request failed", metadata: ["error": "\(error)"])
            answer = Answer(Self.error(.internalServerError, "internal error: see the server log"))
        }
        let response = answer.response
        if let action = route.auditAction, response.status.code >= 400, response.status != .internalServerError, !audited {
            try? audit.append(AuditEntry(
                context: context, action: action, ruleID: route.ruleID, revision: nil,
                outcome: "refused: \(response.status.code) \(response.refusal ?? "")"
            ))
        }
        return (response, answer.serial)
    }

    /// A handler's answer, with the rule-set serial when it committed a change to what the feed serves.
    struct Answer {
        var response: HTTPResponse
        var serial: Int64?

        init(_ response: HTTPResponse, serial: Int64? = nil) {
            self.response = response
            self.serial = serial
        }
    }

    /// Answers an authorized call; throws what the stores refuse.
    private func handle(_ route: APIRoute, _ request: HTTPRequest, components: URLComponents, caller: APIToken, context: ChangeContext) throws -> Answer {
        let query = (components.queryItems ?? []).reduce(into: [String: String]()) { $0[$1.name] = $1.value ?? "" }
        switch route {
        case .publishRule, .promoteRule, .retireRule, .approveChange:
            return try handleChange(route, request, caller: caller, context: context)
        default:
            return Answer(try handleOther(route, request, query: query, caller: caller, context: context))
        }
    }

    /// Answers the calls that commit no change to what the feed serves, or do not say they did.
    private func handleOther(_ route: APIRoute, _ request: HTTPRequest, query: [String: String], caller: APIToken, context: ChangeContext) throws -> HTTPResponse {
        // The catalog is read only by the calls that show builds, not by every call.
        switch route {
        case .listRules:
            var state: RuleState?
            if let text = query["state"] {
                guard let parsed = RuleState(rawValue: text) else {
                    return Self.error(.badRequest, "state '\(text.prefix(40))' is not one of draft, published, retired")
                }
                state = parsed
            }
            return Self.ok(try rules.all(state: state).map { RuleView($0) })
        case .getRule(let id):
            guard let record = try rules.record(id: id) else { return Self.notFound(id) }
            return Self.ruleResponse(.ok, record)
        case .ruleRevisions(let id):
            guard try rules.record(id: id) != nil else { return Self.notFound(id) }
            return Self.ok(try rules.revisions(id: id).map(RevisionView.init))
        case .ruleImpact(let id):
            guard let record = try rules.record(id: id), let latest = try rules.revisions(id: id).last else { return Self.notFound(id) }
            let page = try Self.page(query, .hosts)
            let staleSince = self.staleSince
            let catalog = try catalogs.catalog()
            let hosts = try fleet.hosts(of: latest.rule, in: CoverageState.inScope, staleSince: staleSince, page: page)
            return Self.ok(ImpactView(
                rule: latest.rule, revision: record.latestRevision, hostsByBuild: try fleet.hostsByBuild(appliedTo: latest.rule),
                hosts: PageView(hosts) { HostView($0, staleSince: staleSince, catalog: catalog) }, catalog: catalog
            ))
        case .ruleCoverage(let id):
            guard let record = try rules.record(id: id) else { return Self.notFound(id) }
            guard record.rule.state == .published else {
                return Self.error(.conflict, "rule \(id) is \(record.rule.state.rawValue): coverage is of published rules; GET /api/v1/rules/\(id)/impact shows the hosts a draft applies to")
            }
            let staleSince = self.staleSince
            let verifiedOnly: Bool
            switch query["verified"] {
            case nil, "false": verifiedOnly = false
            case "true": verifiedOnly = true
            case let other?: return Self.error(.badRequest, "verified '\(other.prefix(40))' is not true or false")
            }
            guard let name = query["state"] else {
                let coverage = try fleet.coverage(of: record.rule, revision: record.revision, staleSince: staleSince, verifiedOnly: verifiedOnly)
                return Self.ok(CoverageView(coverage, staleAfterSeconds: staleAfterSeconds, release: record.release))
            }
            guard let selection = CoverageSelection(name: name) else {
                return Self.error(.badRequest, "state '\(name.prefix(40))' is not one of \(CoverageSelection.names.joined(separator: ", "))")
            }
            let hosts = try fleet.hosts(
                of: record.rule, in: selection.states, narrowed: selection.narrowed, staleSince: staleSince, verifiedOnly: verifiedOnly, page: try Self.page(query, .hosts)
            )
            let catalog = try catalogs.catalog()
            return Self.ok(CoverageHostsView(
                rule: id, revision: record.revision, staleAfterSeconds: staleAfterSeconds, state: selection.name,
                hosts: PageView(hosts) { HostView($0, staleSince: staleSince, catalog: catalog) }
            ))
        case .fleet:
            let published = try rules.all(state: .published).map { (rule: $0.rule, revision: $0.revision) }
            return Self.ok(try fleet.summary(rules: published, staleSince: staleSince, staleAfterSeconds: staleAfterSeconds))
        case .putRule(let id):
            return try put(id, request, catalog: try catalogs.catalog(), context: context)
        case .listBuilds:
            return try listBuilds(query)
        case .addBuilds:
            return try addBuilds(request, query: query, caller: caller, context: context)
        case .publishRule, .promoteRule, .retireRule, .approveChange:
            // `handle` sends these to `handleChange` itself, to keep the serial they commit.
            return try handleChange(route, request, caller: caller, context: context).response
        case .listGroups, .getGroup, .createGroup, .deleteGroup, .listChanges, .rejectChange, .getPolicy, .setPolicy:
            return try handleRollout(route, request, query: query, caller: caller, context: context)
        case .deleteRule(let id):
            try operations.lifecycle.delete(id, expectedRevision: try Self.expectedRevision(request), context: context)
            return HTTPResponse(status: .noContent)
        case .listHosts:
            let page = try Self.page(query, .hosts)
            let staleSince = self.staleSince
            let hosts: Page<HostState>
            switch query["stale"] {
            case nil: hosts = try checkIns.hosts(page: page)
            case "true": hosts = try checkIns.hosts(lastSeenBefore: staleSince, page: page)
            case "false": hosts = try checkIns.hosts(lastSeenSince: staleSince, page: page)
            case let other?: return Self.error(.badRequest, "stale '\(other.prefix(40))' is not true or false")
            }
            let catalog = try catalogs.catalog()
            return Self.ok(PageView(hosts) { HostView($0, staleSince: staleSince, catalog: catalog) })
        case .getHost(let reference):
            let page = try Self.page(query, .history)
            guard let reference = HostReference(reference), let host = try checkIns.host(reference) else {
                return Self.error(.notFound, HostChangeError.notFound(reference).description)
            }
            return Self.ok(HostDetailView(
                host: HostView(host, staleSince: staleSince, catalog: try catalogs.catalog()),
                history: PageView(try checkIns.history(hostID: host.id, page: page), HistoryEntryView.init)
            ))
        case .forgetHost(let reference):
            guard let reference = HostReference(reference) else { throw OperationError.host(.notFound(reference)) }
            do {
                try checkIns.forget(reference, context: context)
            } catch {
                throw OperationError(error)
            }
            return HTTPResponse(status: .noContent)
        case .revokeHost(let reference):
            guard let reference = HostReference(reference) else { throw OperationError.host(.notFound(reference)) }
            do {
                try operations.enrollment.revoke(reference, context: context)
            } catch {
                throw OperationError(error)
            }
            return HTTPResponse(status: .noContent)
        case .createEnrollmentTokens:
            return try createEnrollmentTokens(request, context: context)
        case .postInventory:
            return try postInventory(request, context: context)
        case .upstream:
            let documents: Page<UpstreamDocument>
            do {
                documents = try operations.upstreamDocuments.documents(page: try Self.page(query, .upstream))
            } catch let error as APIInputError {
                throw error
            } catch {
                throw OperationError(error)
            }
            return Self.ok(UpstreamView(try operations.upstream.status(), documents: documents))
        case .upstreamDocument(let digest):
            let body: Data?
            do {
                body = try operations.upstreamDocuments.body(digest: digest)
            } catch {
                throw OperationError(error)
            }
            guard let body else { return Self.error(.notFound, "no document of Microsoft's with digest \(digest) is kept") }
            // Verbatim, as Microsoft served it: its signature verifies as it did when kept.
            return HTTPResponse(status: .ok, headers: ["Content-Type": "application/xml; charset=utf-8"], body: ByteBuffer(bytes: body))
        case .audit:
            var filter = AuditLog.Filter(ruleID: query["rule"], actor: query["actor"])
            for (name, keyPath) in [("since", \AuditLog.Filter.since), ("until", \AuditLog.Filter.until)] {
                guard let text = query[name] else { continue }
                guard let date = try? Date(text, strategy: .iso8601) else {
                    return Self.error(.badRequest, "\(name) '\(text.prefix(40))' is not an ISO 8601 time like 2026-11-23T06:00:00Z")
                }
                filter[keyPath: keyPath] = date
            }
            return Self.ok(PageView(try audit.entries(filter, page: try Self.page(query, .audit))) { $0 })
        case .listTokens:
            let all = query["all"] ?? "false"
            guard all == "true" || all == "false" else {
                return Self.error(.badRequest, "all '\(all.prefix(40))' is not true or false")
            }
            return Self.ok(try tokens.list(includingRevoked: all == "true"))
        case .createToken:
            return try createToken(request, context: context)
        case .revokeToken(let name):
            // A database failure is a 500, not a token not found.
            do {
                try tokens.revoke(name: name, context: context)
            } catch {
                throw OperationError(error)
            }
            return HTTPResponse(status: .noContent)
        }
    }

    private func put(_ id: String, _ request: HTTPRequest, catalog: BuildCatalog, context: ChangeContext) throws -> HTTPResponse {
        let bytes = try Self.jsonBytes(request, required: true) ?? []
        let rule: Mitigation
        let validator = RuleValidator(catalog: catalog)
        switch RuleDocumentDecoder(validator: validator).decode(json: bytes) {
        case .failure(.tooLarge(let size)):
            return Self.error(.payloadTooLarge, "the rule is \(size) bytes: a rule may hold at most \(RuleLimits.documentSize)")
        case .failure(.malformed):
            return Self.error(.badRequest, "the body is not valid JSON")
        case .failure(.invalid(let problems)):
            return Self.problems(.unprocessableEntity, problems.map { ProblemView(field: $0.field, message: $0.message) })
        case .success(let decoded):
            rule = decoded
        }
        var problems: [ProblemView] = []
        if rule.id != id { problems.append(ProblemView(field: "id", message: "'\(rule.id)' is not '\(id)', the id in the URL")) }
        if rule.state != .draft {
            problems.append(ProblemView(field: "state", message: "a PUT stores a draft revision: publish or retire with POST /api/v1/rules/\(id)/publish or /retire"))
        }
        guard problems.isEmpty else { return Self.problems(.unprocessableEntity, problems) }
        let expected = try Self.expectedRevision(request)
        let (record, created) = try operations.lifecycle.save(rule, expectedRevision: expected, context: context)
        // Stored, but publishing will be refused until the warnings are fixed: say so now.
        let warnings = validator.warnings(in: rule).map { ProblemView(field: $0.field, message: $0.message) }
        return Self.ruleResponse(created ? .created : .ok, record, warnings: warnings)
    }

    /// `{"name": NAME, "role": "reader" | "publisher" | "admin" | "reporter"}`.
    private func createToken(_ request: HTTPRequest, context: ChangeContext) throws -> HTTPResponse {
        struct Created: Encodable { let name: String; let role: Role; let token: String }
        let expected = "expected {\"name\": NAME, \"role\": \"reader\" | \"publisher\" | \"admin\" | \"reporter\"}"
        let fields = try Self.fields(of: try Self.jsonBody(request, required: true) ?? .null, allowed: ["name", "role"], expected: expected)
        guard let name = fields["name"]?.string else { throw Self.refusal("name", expected) }
        guard let role = fields["role"]?.string.flatMap(Role.init(rawValue:)) else { throw Self.refusal("role", expected) }
        do {
            let secret = try tokens.create(name: name, role: role, context: context)
            return Self.json(.created, Created(name: name, role: role, token: secret))
        } catch {
            throw OperationError(error)
        }
    }

    /// The body is `Get-ExchangeServer | Export-Clixml` output; answers each server's outcome.
    private func postInventory(_ request: HTTPRequest, context: ChangeContext) throws -> HTTPResponse {
        struct Reported: Encodable {
            let added: Int
            let updated: Int
            let skipped: Int
            let servers: [InventoryOutcome]
        }
        guard let body = request.body, body.readableBytes > 0 else {
            throw APIInputError(response: Self.error(.badRequest, "the body is empty: send the file `Get-ExchangeServer | Export-Clixml FILE` writes"))
        }
        let outcomes = try operations.inventory.report(Data(body.readableBytesView), context: context)
        let count = { (result: InventoryOutcome.Result) in outcomes.count { $0.result == result } }
        return Self.json(.ok, Reported(added: count(.added), updated: count(.updated), skipped: count(.skipped), servers: outcomes))
    }

    /// `{"count": N, "validForHours": H}`, both optional (1 token, 24 hours).
    private func createEnrollmentTokens(_ request: HTTPRequest, context: ChangeContext) throws -> HTTPResponse {
        struct Created: Encodable { let tokens: [String]; let firstId: Int64; let expiresAt: Date }
        let expected = "expected {\"count\": N, \"validForHours\": H}, both optional whole numbers (1 token, 24 hours)"
        var count = 1, hours = 24
        if let body = try Self.jsonBody(request, required: false) {
            let fields = try Self.fields(of: body, allowed: ["count", "validForHours"], expected: expected)
            if let value = fields["count"] {
                guard let number = value.integer else { throw Self.refusal("count", expected) }
                count = number
            }
            if let value = fields["validForHours"] {
                guard let number = value.integer else { throw Self.refusal("validForHours", expected) }
                hours = number
            }
        }
        guard hours >= 1, hours <= Int(EnrollmentStore.maximumValidity / 3600) else {
            throw OperationError.enrollment(.invalidValidity(TimeInterval(hours) * 3600))
        }
        do {
            let made = try operations.enrollment.createTokens(count: count, validFor: TimeInterval(hours) * 3600, context: context)
            return Self.json(.created, Created(tokens: made.secrets, firstId: made.firstID, expiresAt: made.expiresAt))
        } catch {
            throw OperationError(error)
        }
    }

    // MARK: Request parts

    /// Hosts that have not polled since this time are stale.
    var staleSince: Date {
        Date().addingTimeInterval(-TimeInterval(staleAfterSeconds))
    }

    /// `?limit=` and `?cursor=` of a list; a `400` naming the problem when they cannot be used.
    static func page(_ query: [String: String], _ kind: PageCursor.Kind) throws -> PageRequest {
        do {
            return try PageRequest.parse(limit: query["limit"], cursor: query["cursor"], kind: kind)
        } catch {
            throw APIInputError(response: Self.error(.badRequest, error.description))
        }
    }

    /// `If-Match: "N"` as a revision number; nil without the header.
    static func expectedRevision(_ request: HTTPRequest) throws -> Int? {
        guard let value = request.head.headers.first(name: "If-Match") else { return nil }
        var tag = value.trimmingCharacters(in: .whitespaces)[...]
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        guard tag.count >= 3, tag.first == "\"", tag.last == "\"", let revision = Int(tag.dropFirst().dropLast()), revision >= 1 else {
            throw APIInputError(response: error(.badRequest, "If-Match must be the rule's ETag, like \"3\""))
        }
        return revision
    }

    /// The body's bytes when its type is JSON (`415` otherwise); nil for no body when none is
    /// `required`. (The handler refused bodies over the limit before reading them.)
    static func jsonBytes(_ request: HTTPRequest, required: Bool) throws(APIInputError) -> [UInt8]? {
        let bytes = request.body.map { Array($0.readableBytesView) } ?? []
        if bytes.isEmpty && !required { return nil }
        let type = request.head.headers.first(name: "Content-Type")?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw APIInputError(response: error(.unsupportedMediaType, "send the body as Content-Type: application/json"))
        }
        return bytes
    }

    /// The body parsed, once: `415` when not JSON by its type, `400` when malformed or nested
    /// deeper than any body here needs; nil for no body when none is `required`.
    static func jsonBody(_ request: HTTPRequest, required: Bool) throws(APIInputError) -> JSONValue? {
        guard let bytes = try jsonBytes(request, required: required) else { return nil }
        do throws(JSONValue.Refusal) {
            return try JSONValue.parse(bytes)
        } catch .tooDeep(let depth) {
            throw APIInputError(response: Self.error(.badRequest, "the body nests \(depth) levels deep: at most \(JSONValue.maximumDepth)"))
        } catch {
            throw APIInputError(response: Self.error(.badRequest, "the body is not valid JSON"))
        }
    }

    /// A `422` naming the field and what was expected of it.
    static func refusal(_ field: String, _ message: String) -> APIInputError {
        APIInputError(response: problems(.unprocessableEntity, [ProblemView(field: field, message: message)]))
    }

    /// The fields of a JSON object body holding only `allowed` names; a `422` otherwise, naming
    /// the first unknown field or the body.
    static func fields(of body: JSONValue, allowed: Set<String>, expected: String) throws(APIInputError) -> [String: JSONValue] {
        guard let object = body.object else { throw refusal("", expected) }
        if let unknown = Set(object.keys).subtracting(allowed).sorted().first { throw refusal(unknown, "unknown field: \(expected)") }
        return object
    }

    // MARK: Responses

    static func json(_ status: HTTPResponseStatus, _ value: some Encodable, headers: HTTPHeaders = [:]) -> HTTPResponse {
        .json(status, APIJSON.encode(value), headers: headers)
    }

    static func ok(_ value: some Encodable) -> HTTPResponse {
        json(.ok, value)
    }

    static func ruleResponse(_ status: HTTPResponseStatus, _ record: RuleRecord, warnings: [ProblemView]? = nil) -> HTTPResponse {
        json(status, RuleView(record, warnings: warnings), headers: ["ETag": "\"\(record.latestRevision)\""])
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        var response = json(status, ErrorView(error: message))
        response.refusal = message
        return response
    }

    static func notFound(_ id: String) -> HTTPResponse {
        error(.notFound, "no rule with id '\(id.prefix(80))': GET /api/v1/rules lists them")
    }

    static func problems(_ status: HTTPResponseStatus, _ problems: [ProblemView]) -> HTTPResponse {
        var response = json(status, problems)
        response.refusal = problems.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return response
    }
}

/// The hosts a rule applies to, by their last reported build: counts per product and CU, and a
/// page of the hosts (`?limit=`, `?cursor=`).
struct ImpactView: Encodable {
    struct Count: Encodable { let product: String; let cumulativeUpdate: String; let hosts: Int }

    let rule: String
    let revision: Int
    let total: Int
    let byProduct: [String: Int]
    let byCumulativeUpdate: [Count]
    let hosts: [HostView]
    let next: String?

    init(rule: Mitigation, revision: Int, hostsByBuild: [(build: String, hosts: Int)], hosts: PageView<HostView>, catalog: BuildCatalog) {
        self.rule = rule.id
        self.revision = revision
        // The fleet summary of just these hosts groups them as the fleet view does.
        let summary = FleetSummary(
            total: hostsByBuild.reduce(0) { $0 + $1.hosts }, stale: 0, hostsByBuild: hostsByBuild, rules: [],
            staleAfterSeconds: 0, catalog: catalog
        )
        total = summary.hosts.total
        byProduct = Dictionary(uniqueKeysWithValues: summary.products.map { ($0.product.rawValue, $0.hosts) })
        byCumulativeUpdate = summary.cumulativeUpdates.map { Count(product: $0.product.rawValue, cumulativeUpdate: $0.cumulativeUpdate, hosts: $0.hosts) }
        self.hosts = hosts.items
        next = hosts.next
    }
}
