import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OCSDashboard
import OCSDomain
import OCSOperations
@testable import OCSServer
import OCSStorage
import OCSTestSupport
import Testing

@Suite("Dashboard requests")
struct DashboardControllerTests {
    final class Fixture {
        let temporary: TemporaryDatabase
        let pool = NIOThreadPool(numberOfThreads: 1)
        let dashboard: DashboardController
        var publisher = ""
        var reader = ""

        init() throws {
            temporary = try TemporaryDatabase()
            pool.start()
            dashboard = DashboardController(operations: Operations(database: temporary.database), staleAfterSeconds: 3600, isHTTPS: false, threadPool: pool, logger: Logger(label: "test"))
            let tokens = TokenStore(database: temporary.database)
            publisher = try tokens.create(name: "pub", role: .publisher, context: .localUser)
            reader = try tokens.create(name: "read", role: .reader, context: .localUser)
        }

        deinit { try? pool.syncShutdownGracefully() }

        func request(_ method: HTTPMethod, _ uri: String, cookie: String? = nil, signInCookie: String? = nil, form: String? = nil) -> HTTPRequest {
            var headers: HTTPHeaders = [:]
            if let cookie { headers.add(name: "Cookie", value: "other=1; ocs_session=\(cookie)") }
            if let signInCookie { headers.add(name: "Cookie", value: "ocs_signin=\(signInCookie)") }
            if form != nil { headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded") }
            var request = HTTPRequest(head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers), remoteAddress: nil)
            request.body = form.map { ByteBuffer(string: $0) }
            return request
        }

        /// The sign-in page as a browser gets it: its pre-session cookie and the form's token.
        func signInForm() throws -> (cookie: String, csrf: String) {
            let page = dashboard.handle(request(.GET, "/ui/login"), session: nil)
            #expect(page.status == .ok)
            let setCookie = try #require(page.headers.first(name: "Set-Cookie"))
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/ui/login"))
            let cookie = String(try #require(setCookie.split(separator: ";").first).dropFirst("ocs_signin=".count))
            let html = page.bodyText
            let csrf = try #require(html.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first?.prefix { $0 != "\"" })
            return (cookie, String(csrf))
        }

        /// Signs in through the sign-in form; returns the cookie value.
        func signIn(_ token: String) throws -> String {
            let form = try signInForm()
            let response = dashboard.handle(request(.POST, "/ui/login", signInCookie: form.cookie, form: "csrf=\(form.csrf)&token=\(UILink.encode(token))"), session: nil)
            #expect(response.status == .seeOther)
            let cookie = try #require(response.headers[canonicalForm: "Set-Cookie"].first { $0.hasPrefix("ocs_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=28800") && !cookie.contains("Secure"))
            // The pre-session cookie has served its purpose.
            #expect(response.headers[canonicalForm: "Set-Cookie"].contains { $0.hasPrefix("ocs_signin=;") && $0.contains("Max-Age=0") })
            return String(cookie.split(separator: ";")[0].dropFirst("ocs_session=".count))
        }
    }

    @Test func pagesNeedASessionAndCarryTheSecurityHeaders() throws {
        let fixture = try Fixture()
        let anonymous = fixture.dashboard.handle(fixture.request(.GET, "/ui/hosts"), session: nil)
        #expect(anonymous.status == .seeOther)
        #expect(anonymous.headers.first(name: "Location") == "/ui/login")
        #expect(anonymous.headers.first(name: "Content-Security-Policy")?.hasPrefix("default-src 'self'; frame-ancestors 'none'") == true)
        let form = try fixture.signInForm()
        let failed = fixture.dashboard.handle(fixture.request(.POST, "/ui/login", signInCookie: form.cookie, form: "csrf=\(form.csrf)&token=nope"), session: nil)
        #expect(failed.status == .unauthorized)
        let cookie = try fixture.signIn(fixture.publisher)
        for path in ["/ui/", "/ui/rules", "/ui/hosts?stale=true&product=Exchange2019&cu=CU14&name=ex", "/ui/audit?actor=pub"] {
            let response = fixture.dashboard.handle(fixture.request(.GET, path, cookie: cookie), session: nil)
            #expect(response.status == .ok, "\(path)")
            #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(response.headers.first(name: "Referrer-Policy") == "no-referrer")
        }
        let css = fixture.dashboard.handle(fixture.request(.GET, "/ui/static/ocs.css"), session: nil)
        #expect(css.status == .ok && css.headers.first(name: "Cache-Control")?.contains("max-age") == true)
    }

    /// Login CSRF: a sign-in without the form's token, or with one that is not its cookie's, opens
    /// no session, even with a live API token; so does one posted from another site.
    @Test func signingInNeedsTheFormsTokenAndThisSite() throws {
        let fixture = try Fixture()
        let sessions = DashboardSessionStore(database: fixture.temporary.database)
        let form = try fixture.signInForm()
        let token = "token=\(UILink.encode(fixture.publisher))"
        for request in [
            fixture.request(.POST, "/ui/login", form: token),
            fixture.request(.POST, "/ui/login", form: "csrf=\(form.csrf)&\(token)"),
            fixture.request(.POST, "/ui/login", signInCookie: form.cookie, form: token),
            fixture.request(.POST, "/ui/login", signInCookie: form.cookie, form: "csrf=\(form.csrf)x&\(token)"),
            fixture.request(.POST, "/ui/login", signInCookie: "attacker", form: "csrf=\(form.csrf)&\(token)"),
        ] {
            let refused = fixture.dashboard.handle(request, session: nil)
            #expect(refused.status == .forbidden, "\(request.head.headers) \(request.body.map { String(buffer: $0) } ?? "")")
            #expect(!refused.headers[canonicalForm: "Set-Cookie"].contains { $0.hasPrefix("ocs_session=") })
            // The page offers a form that works: this browser's token, or a new cookie and token.
            #expect(refused.bodyText.contains("name=\"csrf\""))
        }
        #expect(try sessions.count() == 0)

        // From another site: refused at the head, before the body is read.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let crossSite: [[(String, String)]] = [
            [("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")],
            [("Sec-Fetch-Site", "cross-site")],
            [("Sec-Fetch-Site", "same-site"), ("Host", "ocs.example.org")],
            [("Origin", "https://evil.example"), ("Host", "ocs.example.org")],
            [("Origin", "null"), ("Sec-Fetch-Site", "cross-site")],
            [("Origin", "https://ocs.example.org.evil.example"), ("Host", "ocs.example.org")],
        ]
        for headers in crossSite {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/ui/login")
            head.headers.add(contentsOf: headers + [("Cookie", "ocs_signin=\(form.cookie)"), ("Content-Length", "80")])
            guard case .refuse(let refusal) = fixture.dashboard.admit(head, on: loop) else { Issue.record("\(headers) admitted"); continue }
            #expect(refusal.status == .forbidden, "\(headers)")
            #expect(refusal.bodyText.contains("posted from another site"), "\(headers)")
        }
        // This site, as browsers say so, and what says nothing: admitted to be judged by the token.
        // Chromium posts the dashboard's own forms with Origin: null (the pages' Referrer-Policy is no-referrer).
        let sameSite: [[(String, String)]] = [
            [("Origin", "http://127.0.0.1:8080"), ("Sec-Fetch-Site", "same-origin"), ("Host", "127.0.0.1:8080")],
            [("Origin", "null"), ("Sec-Fetch-Site", "same-origin"), ("Host", "127.0.0.1:8080")],
            [("Origin", "null")],
            [("Origin", "https://OCS.example.org"), ("Host", "ocs.example.org")],
            [("Sec-Fetch-Site", "none")],
            [],
        ]
        // A proxy that rewrites Host: the public URL's origin is this site too.
        let proxied: HTTPHeaders = ["Origin": "https://ocs.example.org", "Host": "127.0.0.1:8080"]
        #expect(DashboardController.crossSite(proxied, publicAuthority: "ocs.example.org") == nil)
        #expect(DashboardController.crossSite(proxied) != nil)
        for headers in sameSite {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/ui/login")
            head.headers.add(contentsOf: headers + [("Content-Length", "80")])
            guard case .accept = fixture.dashboard.admit(head, on: loop) else { Issue.record("\(headers) refused"); continue }
        }
        #expect(try sessions.count() == 0)
        _ = try fixture.signIn(fixture.publisher)
        #expect(try sessions.count() == 1)
    }

    @Test func publishingNeedsTheCSRFTokenAndThePublisherRole() throws {
        let fixture = try Fixture()
        let rules = RuleStore(database: fixture.temporary.database)
        try rules.put(Mitigation(id: "M1", description: "d", state: .draft, actions: [.doNothing(description: nil)]), context: .localUser)
        let cookie = try fixture.signIn(fixture.publisher)
        let sessions = DashboardSessionStore(database: fixture.temporary.database)
        let session = try #require(try sessions.session(secret: cookie))

        let forged = fixture.dashboard.handle(fixture.request(.POST, "/ui/rules/M1/publish", cookie: cookie, form: "csrf=guess&expected=1"), session: session)
        #expect(forged.status == .forbidden)
        #expect(try rules.record(id: "M1")?.rule.state == .draft)

        let stale = fixture.dashboard.handle(fixture.request(.POST, "/ui/rules/M1/publish", cookie: cookie, form: "csrf=\(session.csrf)&expected=5&everyone=on"), session: session)
        #expect(stale.status == .preconditionFailed)

        let published = fixture.dashboard.handle(fixture.request(.POST, "/ui/rules/M1/publish", cookie: cookie, form: "csrf=\(session.csrf)&expected=1&everyone=on"), session: session)
        #expect(published.status == .seeOther)
        #expect(try rules.record(id: "M1")?.rule.state == .published)
        #expect(try AuditLog(database: fixture.temporary.database).entries(AuditLog.Filter(ruleID: "M1", actor: "pub")).items.contains { $0.action == "rule.publish" })

        // A reader's POST is refused at the head, before its body is read, and audited.
        let readerCookie = try fixture.signIn(fixture.reader)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/ui/rules/M1/retire")
        head.headers.add(name: "Cookie", value: "ocs_session=\(readerCookie)")
        head.headers.add(name: "Content-Length", value: "10")
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        guard case .decideLater(let later) = fixture.dashboard.admit(head, on: loop) else { Issue.record("not decided later"); return }
        guard case .refuse(let refusal) = try later.wait() else { Issue.record("a reader's POST was admitted"); return }
        #expect(refusal.status == .forbidden)
        #expect(try AuditLog(database: fixture.temporary.database).entries(AuditLog.Filter(actor: "read")).items.contains { $0.outcome.hasPrefix("refused: 403") })
        // Without a session: redirected at the head.
        head.headers.replaceOrAdd(name: "Cookie", value: "ocs_session=nothing")
        guard case .decideLater(let anonymous) = fixture.dashboard.admit(head, on: loop), case .refuse(let redirect) = try anonymous.wait() else {
            Issue.record("an unauthenticated POST was admitted"); return
        }
        #expect(redirect.status == .seeOther)

        // Sign-out ends the session.
        let out = fixture.dashboard.handle(fixture.request(.POST, "/ui/logout", cookie: cookie, form: "csrf=\(session.csrf)"), session: session)
        #expect(out.status == .seeOther && out.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try sessions.session(secret: cookie) == nil)
    }

    /// What takes protection away is confirmed and says why: a retire without the confirmation
    /// and a reason, and a narrowing publish without the box or a reason, change nothing.
    @Test func retireAndNarrowingNeedConfirmationAndAReason() throws {
        let fixture = try Fixture()
        let rules = RuleStore(database: fixture.temporary.database)
        try rules.put(Mitigation(id: "M1", description: "d", state: .draft, actions: [.doNothing(description: nil)]), context: .localUser)
        try rules.publish(id: "M1", to: .everyone, context: .localUser)
        try HostGroupStore(database: fixture.temporary.database).create(name: "canary", selector: .names(["CANARY*"]), context: .localUser)
        try CheckInStore(database: fixture.temporary.database).record([CheckIn(
            serverID: nil, serverName: "EX19-01", build: "15.2.1118.7", orgID: nil, applied: ["M1"], blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()
        )])
        let cookie = try fixture.signIn(fixture.publisher)
        let session = try #require(try DashboardSessionStore(database: fixture.temporary.database).session(secret: cookie))
        func post(_ action: String, _ form: String) -> HTTPResponse {
            fixture.dashboard.handle(fixture.request(.POST, "/ui/rules/M1/\(action)", cookie: cookie, form: "csrf=\(session.csrf)&expected=1&" + form), session: session)
        }
        let page = fixture.dashboard.handle(fixture.request(.GET, "/ui/rules/M1", cookie: cookie), session: session)
        #expect(page.bodyText.contains("id=\"rule-retire-confirm\" required") && page.bodyText.contains("from the 1 host that have it applied"))

        for form in ["", "confirm=on", "reason=INC-1"] {
            let refused = post("retire", form)
            #expect(refused.status == .unprocessableEntity && refused.bodyText.contains("tick the confirmation and give a reason"), "\(form)")
        }
        let narrowing = post("publish", "to=canary&reason=INC-1")
        #expect(narrowing.status == .conflict && narrowing.bodyText.contains("stop serving it to 1 host that has it applied"))
        #expect(post("publish", "to=canary&narrow=on").status == .unprocessableEntity)
        #expect(try rules.record(id: "M1")?.release == .everyone)
        #expect(post("publish", "to=canary&narrow=on&reason=INC-1").status == .seeOther)
        #expect(try rules.record(id: "M1")?.release == .to(["canary"]))
        // The host it took the rule from says so, with the reason, and the rule counts it.
        let host = fixture.dashboard.handle(fixture.request(.GET, "/ui/hosts/EX19-01", cookie: cookie), session: session)
        #expect(host.bodyText.contains(">removed by narrowing<") && host.bodyText.contains("no longer serves it to this host: INC-1"), "\(host.bodyText)")
        let narrowedPage = fixture.dashboard.handle(fixture.request(.GET, "/ui/rules/M1", cookie: cookie), session: session)
        #expect(narrowedPage.bodyText.contains("id=\"coverage-narrowed\"") && narrowedPage.bodyText.contains("state=narrowed"))
        let overview = fixture.dashboard.handle(fixture.request(.GET, "/ui/", cookie: cookie), session: session)
        #expect(overview.bodyText.contains(">1 removed by narrowing</a>"))
        let listed = fixture.dashboard.handle(fixture.request(.GET, "/ui/rules/M1/hosts?state=narrowed", cookie: cookie), session: session)
        #expect(listed.status == .ok && listed.bodyText.contains("EX19-01") && listed.bodyText.contains("removed by narrowing"))
        #expect(post("retire", "confirm=on&reason=INC-2").status == .seeOther)
        #expect(try rules.record(id: "M1")?.rule.state == .retired)
        let reasons = try AuditLog(database: fixture.temporary.database).entries(AuditLog.Filter(ruleID: "M1", actor: "pub")).items.compactMap(\.reason)
        #expect(reasons.contains("INC-1") && reasons.contains("INC-2"))
    }

    /// The overview leads to the exposed hosts, each with why, and to their CSV.
    @Test func theExposedHeadlineLeadsToTheListWithReasonsAndItsCSV() throws {
        let fixture = try Fixture()
        let rules = RuleStore(database: fixture.temporary.database)
        try rules.put(Mitigation(id: "M9", description: "d", state: .draft, actions: [.disableService("MSExchangeUM", description: nil)]), context: .localUser)
        try rules.publish(id: "M9", to: .everyone, context: .localUser)
        try CheckInStore(database: fixture.temporary.database).record([
            CheckIn(serverID: nil, serverName: "-EX19-01", build: "15.2.1118.7", orgID: nil, applied: [], blocked: [], mitigationsEnabled: false,
                    dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()),
            CheckIn(serverID: nil, serverName: "EX19-02", build: "15.2.1118.7", orgID: nil, applied: ["M9"], blocked: [], mitigationsEnabled: true,
                    dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date()),
        ])
        let cookie = try fixture.signIn(fixture.reader)
        let session = try #require(try DashboardSessionStore(database: fixture.temporary.database).session(secret: cookie))
        let overview = fixture.dashboard.handle(fixture.request(.GET, "/ui/", cookie: cookie), session: session)
        #expect(overview.bodyText.contains("id=\"hosts-exposed\">1</div>") && overview.bodyText.contains("href=\"/ui/exposed\""))
        let list = fixture.dashboard.handle(fixture.request(.GET, "/ui/exposed", cookie: cookie), session: session)
        #expect(list.status == .ok && list.bodyText.contains("-EX19-01") && !list.bodyText.contains("EX19-02</a>"))
        #expect(list.bodyText.contains("M9</a>: exposed: auto-apply is off on the host"))
        #expect(!list.bodyText.contains("(fixed by"), "M9 names no fixing update")
        let csv = fixture.dashboard.handle(fixture.request(.GET, "/ui/exposed.csv", cookie: cookie), session: session)
        #expect(csv.status == .ok && csv.headers.first(name: "Content-Type") == "text/csv; charset=utf-8")
        let lines = csv.bodyText.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 2 && lines[0].hasPrefix("\"host\",\"serverId\",\"build\""))
        // A name a spreadsheet would read as a formula is kept as text.
        #expect(lines[1].hasPrefix("\"'-EX19-01\",\"\",\"15.2.1118.7\",\"Exchange 2019 CU12") && lines[1].contains("\"M9\",\"disabled\",\"exposed: auto-apply is off"))
        // The overview's bounded build table leads to every build, a page at a time.
        #expect(overview.bodyText.contains("id=\"all-builds\""))
        let builds = fixture.dashboard.handle(fixture.request(.GET, "/ui/builds?limit=1", cookie: cookie), session: session)
        #expect(builds.status == .ok && builds.bodyText.contains("<td>15.2.1118.7</td><td>Exchange 2019 CU12"))
        let wrongList = fixture.dashboard.handle(fixture.request(.GET, "/ui/builds?cursor=\(PageCursor(kind: .hosts, key: 1).token)", cookie: cookie), session: session)
        #expect(wrongList.status == .badRequest)
    }

    /// What Microsoft ships: nothing before a document is kept; then the overview counts what has
    /// no rule here and the Microsoft page names it, with when the document was first seen.
    @Test func theMicrosoftPageAndTheOverviewNameWhatHasNoRule() async throws {
        let fixture = try Fixture()
        let cookie = try fixture.signIn(fixture.reader)
        let session = try #require(try DashboardSessionStore(database: fixture.temporary.database).session(secret: cookie))
        func get(_ path: String) -> HTTPResponse { fixture.dashboard.handle(fixture.request(.GET, path, cookie: cookie), session: session) }
        #expect(get("/ui/upstream").bodyText.contains("id=\"upstream-none\""))
        #expect(!get("/ui/").bodyText.contains("id=\"upstream-link\""))
        let genuine = try Data(contentsOf: URL(fileURLWithPath: SharedData.microsoftFeed))
        _ = try await fixture.dashboard.operations.upstream.keep(genuine, origin: "import", context: .localUser)
        let overview = get("/ui/")
        #expect(overview.bodyText.contains("id=\"upstream-without-rule\">1</div>") && overview.bodyText.contains("without a rule here: PING1"))
        let page = get("/ui/upstream")
        #expect(page.status == .ok && page.bodyText.contains("<strong>PING1</strong> <span class=\"stale-yes\">no rule here</span>"))
        #expect(page.bodyText.contains("id=\"upstream-documents\"") && page.bodyText.contains("2021-09-15T16:42:08Z"))
    }

    @Test func theReleaseFormFieldsParseAsTheCommandLineOptionsDo() throws {
        #expect(try DashboardController.release(in: [:]) == nil)
        #expect(try DashboardController.release(in: ["to": "  "]) == nil)
        #expect(try DashboardController.release(in: ["everyone": "on"]) == .everyone)
        #expect(try DashboardController.release(in: ["everyone": "on", "to": ""]) == .everyone)
        #expect(try DashboardController.release(in: ["to": "ring1, canary,canary"]) == .groups(["canary", "ring1"]))
        for bad in [["to": "canary", "everyone": "on"], ["to": "canary,"], ["to": "a b"], ["to": "x;y"], ["everyone": "true"],
                    ["to": (0...Release.maximumGroups).map { "g\($0)" }.joined(separator: ",")]] {
            #expect(throws: ReleaseFormError.self, "\(bad)") { try DashboardController.release(in: bad) }
        }
    }

    @Test func aRepublishKeepsItsReleaseAndARollbackOfARetiredRuleNamesOne() throws {
        let fixture = try Fixture()
        let database = fixture.temporary.database
        let rules = RuleStore(database: database)
        _ = try HostGroupStore(database: database).create(name: "canary", selector: .names(["EX19-*"]), context: .localUser)
        try rules.put(Mitigation(id: "M1", description: "one", state: .draft, actions: [.doNothing(description: nil)]), context: .localUser)
        let cookie = try fixture.signIn(fixture.publisher)
        let session = try #require(try DashboardSessionStore(database: database).session(secret: cookie))
        func post(_ action: String, _ fields: String) -> HTTPResponse {
            fixture.dashboard.handle(fixture.request(.POST, "/ui/rules/M1/\(action)", cookie: cookie, form: "csrf=\(session.csrf)&\(fields)"), session: session)
        }

        let refused = post("publish", "expected=1")
        #expect(refused.status == .unprocessableEntity)
        #expect(refused.bodyText.contains("Rule M1 is draft: say who receives it"))
        #expect(try rules.record(id: "M1")?.rule.state == .draft)
        // Refused by the operation, which audits the refusal as it does for the API and the CLI.
        #expect(try AuditLog(database: database).entries(AuditLog.Filter(ruleID: "M1", actor: "pub")).items.map(\.outcome) == [
            "refused: rule M1 is draft: say who receives it, groups (a staged rollout) or everyone",
        ])
        #expect(post("publish", "expected=1&to=nogroup").status == .unprocessableEntity)
        #expect(try rules.record(id: "M1")?.rule.state == .draft)

        #expect(post("publish", "expected=1&to=canary").status == .seeOther)
        #expect(try rules.record(id: "M1")?.release == .groups(["canary"]))
        // A new revision of a published rule, published without naming a release: it keeps its group.
        try rules.put(Mitigation(id: "M1", description: "two", state: .draft, actions: [.doNothing(description: nil)]), context: .localUser)
        #expect(post("publish", "expected=2").status == .seeOther)
        let republished = try #require(try rules.record(id: "M1"))
        #expect(republished.revision == 2 && republished.release == .groups(["canary"]))

        // Retired, then rolled back: it is not published, so the rollback says who receives it.
        try rules.retire(id: "M1", context: .localUser)
        #expect(post("rollback", "expected=2&revision=1").status == .unprocessableEntity)
        #expect(try rules.record(id: "M1")?.rule.state == .retired)
        #expect(post("rollback", "expected=2&revision=1&everyone=on").status == .seeOther)
        let restored = try #require(try rules.record(id: "M1"))
        #expect(restored.rule.state == .published && restored.revision == 1 && restored.release == .everyone)
    }

    @Test func formBodiesDecode() {
        #expect(DashboardController.parseForm("csrf=a%2Bb&expected=3&note=x+y%21&csrf=second") == ["csrf": "a+b", "expected": "3", "note": "x y!"])
        #expect(DashboardController.parseForm("") == [:])
    }
}

extension HTTPResponse {
    /// The body as text, empty for none.
    var bodyText: String { body.map { String(buffer: $0) } ?? "" }
}
