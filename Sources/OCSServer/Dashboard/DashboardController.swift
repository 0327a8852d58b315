import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDashboard
import OCSDomain
import OCSOperations
import OCSRuleFiles
import OCSStorage

/// The web dashboard under `/ui/`: server-rendered pages over the same stores as the admin API,
/// signed in with an API token, a session cookie, CSRF tokens on every form that changes state.
/// Every database call runs on the thread pool.
struct DashboardController: Sendable {
    static let prefix = "/ui"
    static let cookieName = "ocs_session"
    /// The pre-session cookie: its value is the sign-in form's token (double submit), so a sign-in
    /// posted by another site, which can neither read the cookie nor set it, is refused.
    static let signInCookieName = "ocs_signin"
    /// Largest form body taken: forms here hold a token, a few numbers and up to 32 group names.
    static let maximumFormSize = 16 * 1024

    /// Sent with every `/ui/` response.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]

    /// The stores and operations the API and the command line use: the dashboard builds none.
    let operations: Operations
    var rules: RuleStore { operations.rules }
    /// Publish, retire and roll back: the same operations as the API and the command line.
    var lifecycle: RuleOperations { operations.lifecycle }
    var checkIns: CheckInStore { operations.checkIns }
    var fleet: FleetStore { operations.fleet }
    var audit: AuditLog { operations.audit }
    var sessions: DashboardSessionStore { operations.sessions }
    var upstream: UpstreamOperations { operations.upstream }
    var upstreamDocuments: UpstreamStore { operations.upstreamDocuments }
    /// The catalog in effect (embedded plus added rows), read for each page that names builds.
    var catalogs: CatalogStore { operations.catalogs }
    let staleAfterSeconds: Int
    /// Whether browsers reach the dashboard over HTTPS (the server terminates TLS, or the public
    /// URL a proxy serves is https): cookies are then `Secure`.
    let isHTTPS: Bool
    /// `host[:port]` of the public URL, lowercased: forms may come from it as well as from `Host`
    /// (a proxy may rewrite `Host`).
    let publicAuthority: String?
    let threadPool: NIOThreadPool
    let logger: Logger

    init(operations: Operations, staleAfterSeconds: Int, isHTTPS: Bool, publicURL: URL? = nil, threadPool: NIOThreadPool, logger: Logger) {
        self.operations = operations
        self.staleAfterSeconds = staleAfterSeconds
        self.isHTTPS = isHTTPS
        publicAuthority = publicURL.flatMap { url in url.host.map { ($0 + (url.port.map { ":\($0)" } ?? "")).lowercased() } }
        self.threadPool = threadPool
        self.logger = logger
    }

    static func handles(path: Substring) -> Bool {
        path == prefix || path.hasPrefix(prefix + "/")
    }

    // MARK: Admission

    /// Decides at the head: pages are GET/HEAD without a body; forms are POSTs with bounded
    /// bodies; a POST other than sign-in needs a live session (checked off the event loop) and,
    /// except sign-out, the publisher role. Refused bodies are never read.
    func admit(_ head: HTTPRequestHead, on eventLoop: any EventLoop) -> Admission {
        let path = head.uri.prefix { $0 != "?" && $0 != "#" }
        switch head.method {
        case .GET, .HEAD:
            if head.announcesBody { return .refuse(Self.page(.payloadTooLarge, "Request body not allowed", "Pages take no request body.")) }
            return .accept(.dashboard(session: nil))
        case .POST:
            break
        default:
            var response = Self.page(.methodNotAllowed, "Method not allowed", "Use GET for pages and POST for forms.")
            response.headers.add(name: "Allow", value: "GET, HEAD, POST")
            return .refuse(response)
        }
        if let length = head.contentLength, length > Self.maximumFormSize {
            return .refuse(Self.page(.payloadTooLarge, "Form too large", "A form body may hold at most \(Self.maximumFormSize) bytes."))
        }
        if let site = Self.crossSite(head.headers, publicAuthority: publicAuthority) {
            return .refuse(Self.page(.forbidden, "Form from another site", "This form was posted from \(site): only the dashboard's own pages may post it."))
        }
        if path == "/ui/login" { return .accept(.dashboard(session: nil)) }
        guard let secret = Self.cookie(Self.cookieName, in: head.headers) else {
            return .refuse(.redirect("/ui/login"))
        }
        let remoteAddress: String? = nil
        let decision = threadPool.runIfActive(eventLoop: eventLoop) { [sessions, audit] () -> Admission in
            guard let session = try sessions.session(secret: secret) else { return .refuse(.redirect("/ui/login")) }
            if path != "/ui/logout", session.role < .publisher {
                let action = Self.auditAction(path: path)
                try audit.append(AuditEntry(
                    actor: session.actor, action: action.action, ruleID: action.rule, revision: nil, remoteAddress: remoteAddress,
                    outcome: "refused: 403 dashboard: token '\(session.actor)' has role \(session.role.rawValue); this needs publisher"
                ))
                return .refuse(Self.page(.forbidden, "Not allowed", "Your token has role \(session.role.rawValue): changing rules needs publisher."))
            }
            return .accept(.dashboard(session: session))
        }.recover { [logger] error in
            logger.error("dashboard session lookup failed", metadata: ["error": "\(error)"])
            return .refuse(Self.page(.internalServerError, "Internal error", "See the server log."))
        }
        return .decideLater(decision)
    }

    /// The audit action and rule of a dashboard form, by its path.
    static func auditAction(path: Substring) -> (action: String, rule: String?) {
        let parts = path.split(separator: "/").map(String.init)
        if parts.count == 4, parts[1] == "rules" {
            let action = ["publish": "rule.publish", "rollback": "rule.publish", "retire": "rule.retire"][parts[3]] ?? "dashboard.post"
            return (action, RuleValidator.isValidID(parts[2]) ? parts[2] : nil)
        }
        return ("dashboard.post", nil)
    }

    // MARK: Responding

    func respond(to request: HTTPRequest, session: DashboardSession?, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        threadPool.runIfActive(eventLoop: eventLoop) { handle(request, session: session) }.flatMapErrorThrowing { [logger] error in
            logger.error("dashboard request failed", metadata: ["error": "\(error)"])
            return Self.page(.internalServerError, "Internal error", "See the server log.")
        }
    }

    /// Answers one request. Blocking.
    func handle(_ request: HTTPRequest, session given: DashboardSession?) -> HTTPResponse {
        do {
            return try route(request, session: given)
        } catch let error as DashboardInputError {
            return error.response
        } catch {
            logger.error("dashboard request failed", metadata: ["error": "\(error)"])
            return Self.page(.internalServerError, "Internal error", "See the server log.")
        }
    }

    private func route(_ request: HTTPRequest, session given: DashboardSession?) throws -> HTTPResponse {
        guard let components = URLComponents(string: request.head.uri) else {
            return Self.page(.badRequest, "Bad request", "The request URI is not valid.")
        }
        let path = components.path
        let query = (components.queryItems ?? []).reduce(into: [String: String]()) { $0[$1.name] = $1.value ?? "" }
        if path == Stylesheet.path { return asset(request, Stylesheet.text, type: "text/css; charset=utf-8", tag: Self.stylesheetTag) }
        if path == Stylesheet.iconPath { return asset(request, Stylesheet.icon, type: "image/svg+xml", tag: Self.iconTag) }
        if path == "/ui" { return .redirect("/ui/") }
        let segments = path.dropFirst("/ui/".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)

        if path == "/ui/login" {
            if request.head.method == .POST { return try signIn(request) }
            if let secret = Self.cookie(Self.cookieName, in: request.head.headers), try sessions.session(secret: secret) != nil { return .redirect("/ui/") }
            return signInPage(.ok, message: nil, request)
        }

        // Everything else needs a session: POSTs were checked at the head, pages are checked here.
        var session = given
        if session == nil, let secret = Self.cookie(Self.cookieName, in: request.head.headers) {
            session = try sessions.session(secret: secret)
        }
        guard let session else { return .redirect("/ui/login") }
        let viewer = Pages.Viewer(name: session.actor, canPublish: session.role >= .publisher, csrf: session.csrf)

        if request.head.method == .POST {
            let form = try Self.form(request)
            guard let sent = form["csrf"], constantTimeEqual(sent.utf8, session.csrf.utf8) else {
                return Self.page(.forbidden, "Form expired", "The form's CSRF token does not match your session: reload the page and try again.", viewer: viewer)
            }
            if path == "/ui/logout" {
                if let secret = Self.cookie(Self.cookieName, in: request.head.headers) { try sessions.close(secret: secret) }
                return .redirect("/ui/login", headers: ["Set-Cookie": clearCookie])
            }
            guard segments.count == 3, segments[0] == "rules" else {
                return Self.page(.notFound, "Not found", "No such form.", viewer: viewer)
            }
            return try change(rule: segments[1], action: segments[2], form: form, request: request, session: session, viewer: viewer)
        }

        switch (segments.count, segments.first ?? "") {
        case (1, ""):
            let published = try rules.all(state: .published).map { (rule: $0.rule, revision: $0.revision) }
            let staleSince = self.staleSince
            let summary = try fleet.summary(rules: published, staleSince: staleSince, staleAfterSeconds: staleAfterSeconds)
            let exposed = try fleet.exposedHosts(to: published.map(\.rule), staleSince: staleSince, page: PageRequest(limit: 1)).total
            return .html(.ok, Pages.overview(summary, exposed: exposed, upstream: try upstream.status(), bundle: try operations.bundles.summary(), viewer: viewer))
        case (1, "upstream"):
            let documents = try upstreamDocuments.documents(page: try Self.pageRequest(query, kind: .upstream, viewer: viewer))
            return .html(.ok, Pages.upstream(try upstream.status(), documents: documents.items, next: documents.next?.token, viewer: viewer))
        case (1, "exposed"):
            return try exposedPage(query: query, viewer: viewer)
        case (1, "exposed.csv"):
            return try exposedCSV()
        case (1, "builds"):
            let builds = try fleet.builds(page: try Self.pageRequest(query, kind: .hostBuilds, viewer: viewer))
            return .html(.ok, Pages.builds(builds.items, next: builds.next?.token, viewer: viewer))
        case (1, "rules"):
            return .html(.ok, Pages.rules(try rules.all(), viewer: viewer))
        case (2, "rules"):
            return try rulePage(segments[1], viewer: viewer, notice: Self.doneNotice(query["done"]))
        case (3, "rules") where segments[2] == "hosts":
            return try ruleHosts(segments[1], query: query, viewer: viewer)
        case (1, "hosts"):
            return try hostList(query: query, viewer: viewer)
        case (2, "hosts"):
            return try hostPage(segments[1], query: query, viewer: viewer)
        case (1, "audit"):
            return try auditPage(query: query, viewer: viewer)
        default:
            return Self.page(.notFound, "Not found", "No such page.", viewer: viewer)
        }
    }

    var staleSince: Date {
        Date().addingTimeInterval(-TimeInterval(staleAfterSeconds))
    }

    // MARK: Sign in and out

    /// Signs in with an API token, from the sign-in form of this browser: its token must match
    /// the pre-session cookie, as the CSRF token of a signed-in form matches its session.
    private func signIn(_ request: HTTPRequest) throws -> HTTPResponse {
        let form = try Self.form(request)
        guard let expected = Self.cookie(Self.signInCookieName, in: request.head.headers), let sent = form["csrf"],
              constantTimeEqual(sent.utf8, expected.utf8)
        else {
            return signInPage(.forbidden, message: "The sign-in form expired or was not this dashboard's: sign in again.", request)
        }
        guard let token = form["token"]?.trimmingCharacters(in: .whitespaces), !token.isEmpty, token.utf8.count <= 256,
              let opened = try sessions.open(apiSecret: token, remoteAddress: request.remoteAddress)
        else {
            return signInPage(.unauthorized, message: "That is not a live API token with a role that may read (a reporter token may not sign in).", request)
        }
        var headers: HTTPHeaders = [:]
        headers.add(name: "Set-Cookie", value: cookie(Self.cookieName, opened.secret, path: "/ui", maxAge: Int(DashboardSessionStore.lifetime)))
        headers.add(name: "Set-Cookie", value: cookie(Self.signInCookieName, "", path: "/ui/login", maxAge: 0))
        return .redirect("/ui/", headers: headers)
    }

    /// The sign-in form with the token of this browser's pre-session cookie: the one it has, or a
    /// new one, set with the page.
    private func signInPage(_ status: HTTPResponseStatus, message: String?, _ request: HTTPRequest) -> HTTPResponse {
        if let token = Self.cookie(Self.signInCookieName, in: request.head.headers), token.utf8.count <= 128 {
            return .html(status, Pages.login(message: message, csrf: token))
        }
        let token = DashboardSessionStore.randomToken()
        return .html(status, Pages.login(message: message, csrf: token), headers: ["Set-Cookie": cookie(Self.signInCookieName, token, path: "/ui/login", maxAge: nil)])
    }

    /// A `Set-Cookie` value: never readable by scripts, never sent with another site's requests,
    /// `Secure` when the dashboard is reached over HTTPS.
    func cookie(_ name: String, _ value: String, path: String, maxAge: Int?) -> String {
        "\(name)=\(value); Path=\(path)\(maxAge.map { "; Max-Age=\($0)" } ?? ""); HttpOnly; SameSite=Strict" + (isHTTPS ? "; Secure" : "")
    }

    var clearCookie: String {
        cookie(Self.cookieName, "", path: "/ui", maxAge: 0)
    }

    // MARK: Rules

    private func rulePage(_ id: String, viewer: Pages.Viewer, notice: HTML = .empty, status: HTTPResponseStatus = .ok) throws -> HTTPResponse {
        guard RuleValidator.isValidID(id), let record = try rules.record(id: id) else {
            return Self.page(.notFound, "No such rule", "There is no rule with that id.", viewer: viewer)
        }
        let revisions = try rules.revisions(id: id)
        let latest = revisions.last
        var diff: LineDiff?
        if record.latestRevision > record.revision, let served = revisions.first(where: { $0.revision == record.revision }), let latest {
            let encoder = RuleDocumentEncoder()
            diff = LineDiff(
                try encoder.yaml(for: served.rule).split(separator: "\n", omittingEmptySubsequences: false),
                try encoder.yaml(for: latest.rule).split(separator: "\n", omittingEmptySubsequences: false)
            )
        }
        let published = record.rule.state == .published
        let coverage = published ? try fleet.coverage(of: record.rule, revision: record.revision, staleSince: staleSince) : nil
        let verifiedCoverage = published ? try fleet.coverage(of: record.rule, revision: record.revision, staleSince: staleSince, verifiedOnly: true) : nil
        let pending = record.rule.state == .draft || record.latestRevision > record.revision
        let impact = pending ? try latest.map { try fleet.hostsByBuild(appliedTo: $0.rule) } : nil
        let page = Pages.RulePage(record: record, revisions: revisions, diff: diff, coverage: coverage, verifiedCoverage: verifiedCoverage, impact: impact)
        return .html(status, Pages.rule(page, viewer: viewer, notice: notice))
    }

    private static func doneNotice(_ done: String?) -> HTML {
        switch done {
        case "published": Pages.notice("Published.")
        case "retired": Pages.notice("Retired.")
        case "rolledback": Pages.notice("Rolled back.")
        case "pending": Pages.notice("Require-approval is on: the change waits for another publisher or admin (ocs changes list).")
        default: .empty
        }
    }

    /// Publish, retire or roll back through the same `RuleStore` calls as the API, which audit them.
    private func change(rule id: String, action: String, form: [String: String], request: HTTPRequest, session: DashboardSession, viewer: Pages.Viewer) throws -> HTTPResponse {
        guard RuleValidator.isValidID(id) else { return Self.page(.notFound, "No such rule", "There is no rule with that id.", viewer: viewer) }
        guard session.role >= .publisher else {
            return Self.page(.forbidden, "Not allowed", "Changing rules needs the publisher role.", viewer: viewer)
        }
        var context = ChangeContext(actor: session.actor, remoteAddress: request.remoteAddress)
        if let reason = form["reason"]?.trimmingCharacters(in: .whitespaces), !reason.isEmpty {
            if let problem = ChangeContext.problem(withReason: reason) {
                return try rulePage(id, viewer: viewer, notice: Pages.notice("The reason: \(problem).", error: true), status: .unprocessableEntity)
            }
            context = context.with(reason: reason)
        }
        // What takes protection away is confirmed and says why: a retire here, a narrowing publish
        // by the rule store (refused without a reason, `narrowingNeedsReason`).
        let narrow = form["narrow"] == "on"
        if action == "retire" && (form["confirm"] != "on" || context.reason == nil) {
            return try rulePage(id, viewer: viewer, notice: Pages.notice(
                "Retiring removes the rule from every host that has it: tick the confirmation and give a reason. Nothing was changed.", error: true
            ), status: .unprocessableEntity)
        }
        let expected = try form["expected"].map { text in
            guard let value = Int(text), value >= 1 else { throw DashboardInputError(response: Self.page(.badRequest, "Bad form", "expected is not a revision number.", viewer: viewer)) }
            return value
        }
        // The form's own fields are checked here; who may receive the rule (a rule not published
        // must be given a release) is the operation's to judge, as for the API and the command line.
        var release: Release?
        if action == "publish" || action == "rollback" {
            do {
                release = try Self.release(in: form)
            } catch {
                return try rulePage(id, viewer: viewer, notice: Pages.notice(error.message, error: true), status: .unprocessableEntity)
            }
        }
        let request = RuleOperations.Request(context: context, role: session.role, expectedRevision: expected)
        var done: String
        let outcome: ChangeOutcome
        do throws(OperationError) {
            switch action {
            case "publish":
                outcome = try lifecycle.publish(id, to: release, narrow: narrow, request)
                done = "published"
            case "retire":
                // Confirmed above, with a reason: the form names the hosts that have it applied.
                outcome = try lifecycle.retire(id, narrow: true, request)
                done = "retired"
            case "rollback":
                guard let revision = form["revision"].flatMap(Int.init), revision >= 1 else {
                    return Self.page(.badRequest, "Bad form", "Choose a revision to roll back to.", viewer: viewer)
                }
                outcome = try lifecycle.publish(id, revision: revision, to: release, narrow: narrow, request)
                done = "rolledback"
            default:
                return Self.page(.notFound, "Not found", "No such form.", viewer: viewer)
            }
        } catch {
            guard let (status, message) = Self.refusal(error) else { throw error }
            return try rulePage(id, viewer: viewer, notice: Pages.notice(message, error: true), status: status)
        }
        if case .pending = outcome { done = "pending" }
        return .redirect(UILink.path("rules", id, query: [("done", done)]))
    }

    /// A refused change as the rule page words it; nil for a database failure (a 500).
    static func refusal(_ error: OperationError) -> (HTTPResponseStatus, String)? {
        switch error {
        case .rule(.releaseRequired(let id, let state)):
            (.unprocessableEntity, "Rule \(id) is \(state): say who receives it, group names in \u{201C}To groups\u{201D} (a staged rollout) or tick \u{201C}everyone\u{201D}. Nothing was changed.")
        case .rule(.notFound): (.notFound, error.description)
        case .rule(.noSuchRevision), .rule(.unknownGroups): (.unprocessableEntity, error.description)
        case .rule(.stale): (.preconditionFailed, error.description)
        case .rule(.conflict), .rule(.unpublishable), .rule(.pendingChange): (.conflict, error.description)
        case .rule(.narrowing(let id, let hosts)):
            (.conflict, "This change to rule \(id) would stop serving it to \(hosts) \(hosts == 1 ? "host that has" : "hosts that have") it applied: their agents would remove it. Nothing was changed. To do it anyway, tick \u{201C}narrow\u{201D} and give a reason.")
        case .rule(.narrowingNeedsReason(let id, let hosts)):
            (.unprocessableEntity, "This change to rule \(id) takes it from \(hosts) \(hosts == 1 ? "host that has" : "hosts that have") it applied: give the reason. Nothing was changed.")
        case .emergencyNeedsAdmin, .emergencyNeedsReason, .decision: (.forbidden, error.description)
        case .catalog(.needsApproval): (.forbidden, error.description)
        case .catalog(.invalid), .inventory, .upstream, .site: (.unprocessableEntity, error.description)
        case .rule(.storage), .storage, .group, .host, .token, .enrollment, .catalog(.storage): nil
        }
    }

    /// The release a publish or rollback form names: `to` (comma-separated group names) or the
    /// `everyone` checkbox; nil when neither (a published rule then keeps its release).
    static func release(in form: [String: String]) throws(ReleaseFormError) -> Release? {
        let to = form["to"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let everyone: Bool
        switch form["everyone"] {
        case nil: everyone = false
        case "on": everyone = true
        default: throw ReleaseFormError(message: "\u{201C}everyone\u{201D} is a checkbox: ticked (on) or not sent.")
        }
        if everyone && !to.isEmpty {
            throw ReleaseFormError(message: "Give group names in \u{201C}To groups\u{201D} or tick \u{201C}everyone\u{201D}, not both.")
        }
        if everyone { return .everyone }
        guard !to.isEmpty else { return nil }
        let names = to.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        do throws(ReleaseProblem) {
            return try Release.groups(named: names)
        } catch {
            throw ReleaseFormError(message: "\u{201C}To groups\u{201D}: \(error).")
        }
    }

    private func ruleHosts(_ id: String, query: [String: String], viewer: Pages.Viewer) throws -> HTTPResponse {
        guard RuleValidator.isValidID(id), let record = try rules.record(id: id) else {
            return Self.page(.notFound, "No such rule", "There is no rule with that id.", viewer: viewer)
        }
        guard record.rule.state == .published else {
            return Self.page(.conflict, "Not published", "Coverage is of published rules; the rule page shows a draft's impact.", viewer: viewer)
        }
        let name = query["state"] ?? "exposed"
        guard let selection = CoverageSelection(name: name) else {
            return Self.page(.badRequest, "Bad state", "state is one of \(CoverageSelection.names.joined(separator: ", ")).", viewer: viewer)
        }
        let page = try Self.pageRequest(query, viewer: viewer)
        let staleSince = self.staleSince
        let hosts = try fleet.hosts(of: record.rule, in: selection.states, narrowed: selection.narrowed, staleSince: staleSince, page: page)
        // Why each listed host is in its state, judged as the host's page judges it.
        let published = try rules.publishedSet()
        let narrowings = try fleet.narrowings(of: id, hosts: hosts.items.map(\.id))
        var standings: [Int64: RuleStanding] = [:]
        if let served = published.rules.first(where: { $0.id == id }) {
            for host in hosts.items {
                standings[host.id] = RuleStanding(
                    of: served, rollout: published.rollout, on: host, staleSince: staleSince, catalog: published.catalog, narrowed: narrowings[host.id]
                )
            }
        }
        return .html(.ok, Pages.ruleHosts(
            rule: id, state: selection.name, hosts: hosts.items, standings: standings, next: hosts.next?.token, staleSince: staleSince,
            catalog: published.catalog, viewer: viewer
        ))
    }

    // MARK: Hosts

    private func hostList(query: [String: String], viewer: Pages.Viewer) throws -> HTTPResponse {
        var filter = HostFilter()
        switch query["stale"] ?? "" {
        case "": break
        case "true": filter.stale = true
        case "false": filter.stale = false
        default: return Self.page(.badRequest, "Bad filter", "stale is true or false.", viewer: viewer)
        }
        if let text = query["product"], !text.isEmpty {
            guard let product = ExchangeProduct(rawValue: text) else {
                return Self.page(.badRequest, "Bad filter", "product is one of \(ExchangeProduct.allCases.map(\.rawValue).joined(separator: ", ")).", viewer: viewer)
            }
            filter.product = product
        }
        if let cu = query["cu"], !cu.isEmpty { filter.cumulativeUpdate = String(cu.prefix(40)) }
        if let name = query["name"], !name.isEmpty { filter.name = String(name.prefix(200)) }
        let staleSince = self.staleSince
        let hosts = try checkIns.hosts(filter, staleSince: staleSince, catalog: try catalogs.catalog(), page: try Self.pageRequest(query, viewer: viewer))
        return .html(.ok, Pages.hosts(hosts.items, filter: filter, next: hosts.next?.token, staleSince: staleSince, catalog: try catalogs.catalog(), viewer: viewer))
    }

    /// Hosts exposed to a published rule, a page at a time, each with its rules' standings.
    private func exposedPage(query: [String: String], viewer: Pages.Viewer) throws -> HTTPResponse {
        let published = try rules.publishedSet()
        let staleSince = self.staleSince
        let (total, page) = try fleet.exposedHosts(to: published.rules, staleSince: staleSince, page: try Self.pageRequest(query, viewer: viewer))
        var standings: [Int64: [RuleStanding]] = [:]
        for host in page.items {
            standings[host.id] = published.rules.map { RuleStanding(of: $0, rollout: published.rollout, on: host, staleSince: staleSince, catalog: published.catalog) }
        }
        var fixedBy: [String: String] = [:]
        for rule in published.rules { fixedBy[rule.id] = rule.applies?.fixedBy }
        return .html(.ok, Pages.exposed(
            page.items, standings: standings, fixedBy: fixedBy, total: total, next: page.next?.token, staleSince: staleSince, catalog: published.catalog,
            viewer: viewer
        ))
    }

    /// The most rows the CSV export holds: far above a fleet's servers, and a bound on the answer.
    static let maximumCSVRows = 100_000

    /// Every exposed host, a line per rule it is exposed to: host, serverId, build and its name,
    /// last poll, rule, state, why, and the update that fixes it when the rule says.
    private func exposedCSV() throws -> HTTPResponse {
        let published = try rules.publishedSet()
        let staleSince = self.staleSince
        var text = CSV.line(["host", "serverId", "build", "build name", "last poll", "rule", "state", "why", "fixed by"])
        var rows = 0
        var request = PageRequest(limit: PageRequest.maximumLimit)
        while rows < Self.maximumCSVRows {
            let page = try fleet.exposedHosts(to: published.rules, staleSince: staleSince, page: request).page
            for host in page.items where rows < Self.maximumCSVRows {
                for rule in published.rules {
                    let standing = RuleStanding(of: rule, rollout: published.rollout, on: host, staleSince: staleSince, catalog: published.catalog)
                    guard CoverageState.exposed.contains(standing.state) else { continue }
                    let buildName = host.latest.build.flatMap { try? ExchangeBuild(parsing: $0) }.map(published.catalog.describe) ?? ""
                    text += CSV.line([
                        host.displayName, host.latest.serverID ?? "", host.latest.build ?? "", buildName, ISO8601DateFormatter().string(from: host.lastSeen),
                        rule.id, standing.state.label, standing.reason, rule.applies?.fixedBy ?? "",
                    ])
                    rows += 1
                }
            }
            guard let next = page.next else { break }
            request = PageRequest(limit: PageRequest.maximumLimit, cursor: next)
        }
        return .dashboard(.ok, headers: [
            "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": "attachment; filename=\"exposed-hosts.csv\"",
        ], body: Array(text.utf8))
    }

    private func hostPage(_ text: String, query: [String: String], viewer: Pages.Viewer) throws -> HTTPResponse {
        guard let reference = HostReference(text), let host = try checkIns.host(reference) else {
            return Self.page(.notFound, "No such host", "There is no host with that id, serverId or name.", viewer: viewer)
        }
        let history = try checkIns.history(hostID: host.id, page: try Self.pageRequest(query, kind: .history, viewer: viewer))
        // Every published rule's state on this host, by the rule set and catalog the feed serves.
        let published = try rules.publishedSet()
        let staleSince = self.staleSince
        let narrowings = try fleet.narrowings(ofHost: host.id)
        let standings = published.rules.map {
            RuleStanding(of: $0, rollout: published.rollout, on: host, staleSince: staleSince, catalog: published.catalog, narrowed: narrowings[$0.id])
        }
        return .html(.ok, Pages.host(
            host, standings: standings, history: history.items, next: history.next?.token, staleSince: staleSince, catalog: published.catalog, viewer: viewer
        ))
    }

    // MARK: Audit

    private func auditPage(query: [String: String], viewer: Pages.Viewer) throws -> HTTPResponse {
        func value(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) } }
        let shown = Pages.AuditQuery(rule: value("rule"), actor: value("actor"), since: value("since"), until: value("until"))
        var filter = AuditLog.Filter(ruleID: shown.rule, actor: shown.actor, newestFirst: true)
        for (name, text) in [("since", shown.since), ("until", shown.until)] {
            guard let text else { continue }
            guard let date = try? Date(text, strategy: .iso8601) else {
                return Self.page(.badRequest, "Bad filter", "\(name) is an ISO 8601 time like 2026-11-23T06:00:00Z.", viewer: viewer)
            }
            if name == "since" { filter.since = date } else { filter.until = date }
        }
        let entries = try audit.entries(filter, page: try Self.pageRequest(query, kind: .audit, viewer: viewer))
        return .html(.ok, Pages.audit(entries.items, query: shown, next: entries.next?.token, viewer: viewer))
    }

    // MARK: Static

    /// A static file, cached a day and revalidated by its ETag.
    private func asset(_ request: HTTPRequest, _ text: String, type: String, tag: String) -> HTTPResponse {
        if request.head.headers[canonicalForm: "If-None-Match"].contains(where: { $0 == tag || $0 == "*" }) {
            return .dashboard(.notModified, headers: ["ETag": tag, "Cache-Control": "public, max-age=86400"])
        }
        return .dashboard(
            .ok, headers: ["Content-Type": type, "ETag": tag, "Cache-Control": "public, max-age=86400"],
            body: Array(text.utf8)
        )
    }

    static let stylesheetTag = entityTag(Stylesheet.text)
    static let iconTag = entityTag(Stylesheet.icon)

    /// A quoted FNV-1a hash of the content.
    static func entityTag(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\"\(String(hash, radix: 16))\""
    }

    // MARK: Request parts

    static func pageRequest(_ query: [String: String], kind: PageCursor.Kind = .hosts, viewer: Pages.Viewer) throws -> PageRequest {
        do {
            return try PageRequest.parse(limit: query["limit"], cursor: query["cursor"].flatMap { $0.isEmpty ? nil : $0 }, kind: kind)
        } catch {
            throw DashboardInputError(response: page(.badRequest, "Bad page", error.description, viewer: viewer))
        }
    }

    /// An `application/x-www-form-urlencoded` body as names and values (the first of each name).
    static func form(_ request: HTTPRequest) throws -> [String: String] {
        let type = request.head.headers.first(name: "Content-Type")?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw DashboardInputError(response: page(.unsupportedMediaType, "Unsupported form", "Forms are sent as application/x-www-form-urlencoded."))
        }
        let body = request.body.map { Array($0.readableBytesView) } ?? []
        guard body.count <= maximumFormSize else {
            throw DashboardInputError(response: page(.payloadTooLarge, "Form too large", "A form body may hold at most \(maximumFormSize) bytes."))
        }
        guard let text = String(validating: body, as: UTF8.self) else {
            throw DashboardInputError(response: page(.badRequest, "Bad form", "The form is not UTF-8."))
        }
        return parseForm(text)
    }

    /// Decodes `a=1&b=x+y%21`: `+` is a space, percent escapes are bytes of UTF-8.
    static func parseForm(_ text: String) -> [String: String] {
        var components = URLComponents()
        components.percentEncodedQuery = text.replacingOccurrences(of: "+", with: "%20")
        var fields: [String: String] = [:]
        for item in components.queryItems ?? [] where fields[item.name] == nil {
            fields[item.name] = item.value ?? ""
        }
        return fields
    }

    /// A cookie's value from the `Cookie` headers.
    static func cookie(_ name: String, in headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "Cookie"] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }

    /// Where a form was posted from, when that is another site: by the browser's `Sec-Fetch-Site`
    /// when it sends one (anything but `same-origin`, or `none` for what the user did themselves),
    /// else by an `Origin` whose host and port are neither the `Host` asked for nor the public URL's
    /// (`publicAuthority`). Nil for this site, and
    /// when neither says (clients other than browsers; `Origin: null`, which `Referrer-Policy:
    /// no-referrer` makes browsers send with this site's own forms): the forms' tokens decide then.
    static func crossSite(_ headers: HTTPHeaders, publicAuthority: String? = nil) -> String? {
        if let site = headers.first(name: "Sec-Fetch-Site")?.lowercased() {
            return site == "same-origin" || site == "none" ? nil : "another site (Sec-Fetch-Site: \(site.prefix(40)))"
        }
        guard let origin = headers.first(name: "Origin"), origin != "null" else { return nil }
        let authority = ["https://", "http://"].first { origin.lowercased().hasPrefix($0) }.map { origin.dropFirst($0.count).lowercased() }
        guard let authority, authority == headers.first(name: "Host")?.lowercased() || authority == publicAuthority else {
            return "another site (Origin: \(origin.prefix(80)))"
        }
        return nil
    }

    static func page(_ status: HTTPResponseStatus, _ title: String, _ message: String, viewer: Pages.Viewer? = nil) -> HTTPResponse {
        .html(status, Pages.error(title: title, message: message, viewer: viewer))
    }
}

/// A request the dashboard refuses before touching data; carries its response.
struct DashboardInputError: Error {
    let response: HTTPResponse
}

/// A publish or rollback form whose release is missing or malformed; the message says what to fix.
struct ReleaseFormError: Error {
    let message: String
}

extension HTTPResponse {
    /// A dashboard response: every one carries the dashboard's security headers.
    fileprivate static func dashboard(_ status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) -> HTTPResponse {
        var all = headers
        for (name, value) in DashboardController.securityHeaders where !all.contains(name: name) {
            all.add(name: name, value: value)
        }
        return HTTPResponse(status: status, headers: all, body: body.isEmpty ? nil : ByteBuffer(bytes: body))
    }

    fileprivate static func html(_ status: HTTPResponseStatus, _ page: HTML, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var all: HTTPHeaders = ["Content-Type": "text/html; charset=utf-8"]
        all.add(contentsOf: headers)
        return .dashboard(status, headers: all, body: Array(page.text.utf8))
    }

    /// `303 See Other` to `location` (a `/ui/` path this module built).
    fileprivate static func redirect(_ location: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var all: HTTPHeaders = ["Location": location]
        all.add(contentsOf: headers)
        return .dashboard(.seeOther, headers: all)
    }
}
