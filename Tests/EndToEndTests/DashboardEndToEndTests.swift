import Foundation
import OCSTestSupport
import Testing

/// The dashboard through the real `ocs serve`: headers and admission over curl, then a real browser
/// (headless Chromium driven by Selenium, `Tests/Browser/dashboard_test.py`) signs in, opens every
/// page, publishes a rule through its form and finds injected markup inert.
@Suite(.serialized)
struct DashboardEndToEndTests {
    static let evilAgent = "<script>alert(1)</script>"
    static let evilDescription = "<b onmouseover=\"alert(2)\">Bold</b> <img src=x onerror=alert(3)> & more"
    static let browserScript = URL(fileURLWithPath: #filePath).appendingPathComponent("../../Browser/dashboard_test.py").standardized.path

    final class Fixture {
        let workspace: Workspace
        let server: ServerProcess
        var tokens: [String: String] = [:]

        init() throws {
            workspace = try Workspace()
            server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules])
            for (name, role) in [("rita", "reader"), ("alice", "publisher")] {
                let created = try workspace.ocs("tokens", "create", "--name", name, "--role", role, "--db", workspace.database)
                tokens[name] = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        /// A few hosts polled, one with markup for a User-Agent; a draft whose description is markup.
        func populate() throws {
            let polls: [(String, String)] = [
                ("serverId=00000000-0000-4000-8000-000000000001&server=EX19-01&build=15.2.1118.7&applied=PING1,M1", "MSExchangeEM/15.2"),
                ("serverId=00000000-0000-4000-8000-000000000002&server=EX19-02&build=15.2.1118.7&applied=PING1", "MSExchangeEM/15.2"),
                ("serverId=00000000-0000-4000-8000-000000000003&server=EX19-03&build=15.2.1544.4&applied=PING1&mitigationsEnabled=false", "MSExchangeEM/15.2"),
                ("serverId=00000000-0000-4000-8000-000000000004&server=EX16-01&build=15.1.2507.6&applied=PING1,M1&blocked=M1", "MSExchangeEM/15.1"),
                ("serverId=00000000-0000-4000-8000-000000000005&server=EVIL-01&build=15.2.1118.7&applied=PING1", evilAgent),
                ("serverId=00000000-0000-4000-8000-000000000006&server=EXSE-01&build=15.2.2562.17&applied=PING1", "MSExchangeEM/15.2"),
            ]
            for (query, agent) in polls {
                #expect(try Curl.request(server.baseURL + "/getexchangemitigations?" + query, ["-A", agent]).status == 200)
            }
            let description = DashboardEndToEndTests.evilDescription.replacingOccurrences(of: "\"", with: "\\\"")
            let rule = #"{"id": "WEB1", "description": "\#(description)", "applies": {"products": ["Exchange2019"]}, "actions": [{"type": "DisableService", "service": "MSExchangeTest"}]}"#
            let put = try Curl.request(server.baseURL + "/api/v1/rules/WEB1", [
                "-X", "PUT", "-H", "Authorization: Bearer \(tokens["alice"]!)", "-H", "Content-Type: application/json", "--data-binary", rule,
            ])
            #expect(put.status == 201, "\(put.text)")
        }

        /// The sign-in page as a browser gets it: its pre-session cookie (`ocs_signin=...`) and the form's token.
        func signInForm() throws -> (cookie: String, csrf: String) {
            let page = try Curl.request(server.baseURL + "/ui/login")
            #expect(page.status == 200)
            let cookie = String(try #require(page.header("Set-Cookie")).split(separator: ";")[0])
            let marker = "name=\"csrf\" value=\""
            let csrf = try #require(page.text.components(separatedBy: marker).dropFirst().first?.prefix { $0 != "\"" }, "no CSRF field on the sign-in form")
            return (cookie, String(csrf))
        }

        /// Signs in through the form, as a browser would; returns the response.
        func postSignIn(_ name: String, _ extra: [String] = []) throws -> CurlResponse {
            let form = try signInForm()
            return try Curl.request(server.baseURL + "/ui/login", [
                "-H", "Cookie: \(form.cookie)", "--data-urlencode", "csrf=\(form.csrf)", "--data-urlencode", "token=\(tokens[name]!)",
            ] + extra)
        }

        /// Signs in through the form; returns the `Cookie` header value.
        func signIn(_ name: String) throws -> String {
            let signedIn = try postSignIn(name)
            #expect(signedIn.status == 303)
            let session = try #require(signedIn.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix("ocs_session=") })
            return String(session.value.split(separator: ";")[0])
        }

        /// Posts a form on `path` as a signed-in browser would: with the CSRF token from the page at `page`.
        func post(_ path: String, from page: String, cookie: String, fields: [String]) throws -> CurlResponse {
            let html = try Curl.request(server.baseURL + page, ["-H", "Cookie: \(cookie)"]).text
            let marker = "name=\"csrf\" value=\""
            let csrf = try #require(html.components(separatedBy: marker).dropFirst().first?.prefix { $0 != "\"" }, "no CSRF field on \(page)")
            return try Curl.request(server.baseURL + path, ["-H", "Cookie: \(cookie)", "--data-urlencode", "csrf=\(csrf)"] + fields.flatMap { ["--data-urlencode", $0] })
        }

        /// The rule ids the feed serves a host of build 15.2.1118.7 (`identity` as query parts, nil for an anonymous poll).
        func feedIDs(_ identity: String?) throws -> [String] {
            let query = ["build=15.2.1118.7", identity].compactMap { $0 }.joined(separator: "&")
            return try XMLLint.configIDs(Curl.request(server.baseURL + "/getexchangemitigations?" + query).body)
        }

        deinit { server.stop() }
    }

    @Test func pagesCarryTheSecurityHeadersAndNeedASession() throws {
        let fixture = try Fixture()
        let page = try Curl.request(fixture.server.baseURL + "/ui/")
        #expect(page.status == 303)
        #expect(page.header("Location") == "/ui/login")
        let login = try Curl.request(fixture.server.baseURL + "/ui/login")
        #expect(login.status == 200)
        #expect(login.header("Content-Security-Policy")?.hasPrefix("default-src 'self'; frame-ancestors 'none'") == true)
        #expect(login.header("X-Content-Type-Options") == "nosniff")
        #expect(login.header("Referrer-Policy") == "no-referrer")
        #expect(!login.text.contains("<script") && !login.text.contains("style="))

        // An unauthenticated form POST is refused at the head.
        let post = try Curl.request(fixture.server.baseURL + "/ui/rules/M1/retire", ["-X", "POST", "--data", "csrf=x"])
        #expect(post.status == 303)

        // Signing in sets the session cookie; the cookie opens pages.
        let signedIn = try fixture.postSignIn("alice")
        #expect(signedIn.status == 303)
        let cookie = try #require(signedIn.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix("ocs_session=") }?.value)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui"))
        let value = String(cookie.split(separator: ";")[0])
        let overview = try Curl.request(fixture.server.baseURL + "/ui/", ["-H", "Cookie: \(value)"])
        #expect(overview.status == 200)
        #expect(overview.text.contains("Fleet overview"))
        let css = try Curl.request(fixture.server.baseURL + "/ui/static/ocs.css")
        #expect(css.status == 200 && css.header("Content-Type")?.hasPrefix("text/css") == true && css.header("ETag") != nil)
    }

    /// Login CSRF through the real server: a sign-in posted from another site, or without the
    /// sign-in form's token, opens no session, even with a live token.
    @Test func aSignInFromAnotherSiteOrWithoutTheFormsTokenOpensNoSession() throws {
        let fixture = try Fixture()
        func signIns() throws -> Int {
            let audit = try Curl.request(fixture.server.baseURL + "/api/v1/audit?actor=alice", ["-H", "Authorization: Bearer \(fixture.tokens["rita"]!)"])
            return audit.text.components(separatedBy: "dashboard.signin").count - 1
        }
        let crossSite = try fixture.postSignIn("alice", ["-H", "Origin: https://evil.example", "-H", "Sec-Fetch-Site: cross-site"])
        #expect(crossSite.status == 403, "\(crossSite.text)")
        #expect(crossSite.text.contains("posted from another site"))
        let noToken = try Curl.request(fixture.server.baseURL + "/ui/login", ["--data-urlencode", "token=\(fixture.tokens["alice"]!)"])
        #expect(noToken.status == 403)
        for refused in [crossSite, noToken] {
            #expect(!refused.headers.contains { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix("ocs_session=") })
        }
        #expect(try signIns() == 0)
        // The browser's own form, from this site, as Chromium posts it.
        let host = fixture.server.baseURL.dropFirst("http://".count)
        let own = try fixture.postSignIn("alice", ["-H", "Origin: http://\(host)", "-H", "Sec-Fetch-Site: same-origin"])
        #expect(own.status == 303, "\(own.text)")
        #expect(try signIns() == 1)
    }

    /// Behind a proxy that terminates TLS (plain HTTP here), `--public-url https://...` makes the
    /// cookies Secure, and forms may come from that origin though the proxy rewrote `Host`.
    @Test func anHTTPSPublicURLMakesTheCookiesSecure() throws {
        let workspace = try Workspace()
        let server = try ServerProcess(database: workspace.database, arguments: ["--rules", workspace.rules, "--public-url", "https://OCS.example.org"])
        defer { server.stop() }
        let token = try workspace.ocs("tokens", "create", "--name", "alice", "--role", "publisher", "--db", workspace.database)
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let page = try Curl.request(server.baseURL + "/ui/login")
        let signInCookie = try #require(page.header("Set-Cookie"))
        #expect(signInCookie.hasSuffix("; Secure"), "\(signInCookie)")
        let csrf = try #require(page.text.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first?.prefix { $0 != "\"" })
        func signIn(origin: String) throws -> CurlResponse {
            try Curl.request(server.baseURL + "/ui/login", [
                "-H", "Cookie: \(signInCookie.split(separator: ";")[0])", "-H", "Origin: \(origin)",
                "--data-urlencode", "csrf=\(csrf)", "--data-urlencode", "token=\(token)",
            ])
        }
        #expect(try signIn(origin: "https://evil.example").status == 403)
        let signedIn = try signIn(origin: "https://ocs.example.org")
        #expect(signedIn.status == 303, "\(signedIn.text)")
        let cookies = signedIn.headers.filter { $0.name.lowercased() == "set-cookie" }.map(\.value)
        #expect(cookies.count == 2 && cookies.allSatisfy { $0.hasSuffix("; Secure") }, "\(cookies)")
        #expect(cookies.contains { $0.hasPrefix("ocs_session=") && $0.contains("HttpOnly") && $0.contains("SameSite=Strict") })

        // Anything but an http(s) URL of a host is refused, naming where it came from.
        for bad in ["ocs.example.org", "ftp://ocs.example.org", "https://ocs.example.org/ui", "https://ocs.example.org?x=1", "https://"] {
            let refused = try workspace.ocs("serve", "--port", "0", "--db", workspace.database, "--public-url", bad)
            #expect(refused.status != 0 && refused.stderr.contains("--public-url"), "\(bad): \(refused.stderr)")
        }
        let shown = try Command.run("/usr/bin/env", ["OCS_PUBLIC_URL=https://ocs.example.org", Command.ocs, "config", "show"])
        #expect(shown.output.split(separator: "\n").contains { $0.hasPrefix("publicUrl") && $0.contains("https://ocs.example.org") && $0.contains("environment") }, "\(shown.output)")
    }

    @Test func aFirstPublishFromTheDashboardNamesItsReleaseAndAGroupReleaseReachesTheGroupOnly() throws {
        let fixture = try Fixture()
        try fixture.populate()
        let cookie = try fixture.signIn("alice")
        let inGroup = "serverId=00000000-0000-4000-8000-000000000001&server=EX19-01"
        let outside = "serverId=00000000-0000-4000-8000-000000000002&server=EX19-02"
        func rule() throws -> String {
            try Curl.request(fixture.server.baseURL + "/api/v1/rules/WEB1", ["-H", "Authorization: Bearer \(fixture.tokens["rita"]!)"]).text
                .filter { !$0.isWhitespace }
        }
        func audit() throws -> String {
            try Curl.request(fixture.server.baseURL + "/api/v1/audit?rule=WEB1", ["-H", "Authorization: Bearer \(fixture.tokens["rita"]!)"]).text
                .filter { !$0.isWhitespace }
        }
        let before = try (rule: rule(), audit: audit(), feed: fixture.feedIDs(inGroup))
        #expect(before.rule.contains("\"state\":\"draft\""), "\(before.rule)")

        // The form offers the release; without one, a draft is refused and nothing changes.
        let page = try Curl.request(fixture.server.baseURL + "/ui/rules/WEB1", ["-H", "Cookie: \(cookie)"]).text
        #expect(page.contains("name=\"to\"") && page.contains("type=\"checkbox\" name=\"everyone\"") && !page.contains("checked"))
        let refusals: [([String], String)] = [
            (["expected=1"], "say who receives it"),
            (["expected=1", "to="], "say who receives it"),
            (["expected=1", "to=canary", "everyone=on"], "not both"),
            (["expected=1", "to=canary,bad name"], "is not a group name"),
            (["expected=1", "everyone=yes"], "is a checkbox"),
        ]
        for (fields, reason) in refusals {
            let refused = try fixture.post("/ui/rules/WEB1/publish", from: "/ui/rules/WEB1", cookie: cookie, fields: fields)
            #expect(refused.status == 422, "\(fields): \(refused.text)")
            #expect(refused.text.contains(reason) && refused.text.contains("class=\"notice error\""), "\(fields): \(refused.text)")
        }
        #expect(try rule() == before.rule, "a refused publish changes nothing")
        // A malformed form is refused before any operation; a missing release is refused by the
        // operation, which audits the refusal (as for the API and the command line): two of them.
        let refusedAudit = try audit()
        #expect(refusedAudit.components(separatedBy: "refused:ruleWEB1isdraft:saywhoreceivesit").count - 1 == 2, "\(refusedAudit)")
        #expect(!refusedAudit.contains("ok:released"), "a refused form is not audited as a change")
        #expect(try fixture.feedIDs(inGroup) == before.feed && !before.feed.contains("WEB1"))
        // A group that does not exist: refused by the rule store, which audits the refusal (as for the API).
        let unknown = try fixture.post("/ui/rules/WEB1/publish", from: "/ui/rules/WEB1", cookie: cookie, fields: ["expected=1", "to=canary"])
        #expect(unknown.status == 422 && unknown.text.contains("no group named canary"), "\(unknown.text)")
        #expect(try rule() == before.rule)
        #expect(try audit().contains("refused:nogroupnamedcanary"))

        // Released to a group: its hosts receive the rule, others and anonymous polls do not.
        let group = try Curl.request(fixture.server.baseURL + "/api/v1/groups", [
            "-X", "POST", "-H", "Authorization: Bearer \(fixture.tokens["alice"]!)", "-H", "Content-Type: application/json",
            "--data-binary", #"{"name": "canary", "names": ["EX19-01"]}"#,
        ])
        #expect(group.status == 201, "\(group.text)")
        let published = try fixture.post("/ui/rules/WEB1/publish", from: "/ui/rules/WEB1", cookie: cookie, fields: ["expected=1", "to= canary "])
        #expect(published.status == 303, "\(published.text)")
        #expect(published.header("Location") == "/ui/rules/WEB1?done=published")
        let staged = try rule()
        #expect(staged.contains("\"state\":\"published\"") && staged.contains("\"groups\":[\"canary\"]"), "\(staged)")
        #expect(try fixture.feedIDs(inGroup).contains("WEB1"))
        #expect(try !fixture.feedIDs(outside).contains("WEB1"))
        #expect(try !fixture.feedIDs(nil).contains("WEB1"))
        let shown = try Curl.request(fixture.server.baseURL + "/ui/rules/WEB1", ["-H", "Cookie: \(cookie)"]).text
        #expect(shown.contains("id=\"rule-release\">groups canary<"))
        #expect(try audit().contains("ok:releasedtogroupscanary"))
    }

    /// The shipped M1 with another description: a revision to publish.
    static let m1Revision2 = #"""
        {"id": "M1", "description": "M1, revision 2", "applies": {"products": ["Exchange2016", "Exchange2019"], "fixedBy": "Oct22SU"},
         "actions": [{"type": "IISUrlRewrite", "scope": "Site", "site": "Default Web Site", "rule": {"name": "PowerShell - inbound",
         "input": "{UrlDecode:{REQUEST_URI}}", "pattern": ".*autodiscover\\.json.*Powershell.*", "action": "AbortRequest"}}]}
        """#

    @Test func aRealBrowserSignsInPublishesAndFindsTheMarkupInert() throws {
        if ProcessInfo.processInfo.environment["OCS_SKIP_BROWSER"] == "1" { return }
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            Issue.record("\(tool) is missing: scripts/test.sh installs chromium, chromium-driver and python3-selenium (OCS_SKIP_BROWSER=1 skips this test)")
            return
        }
        let fixture = try Fixture()
        try fixture.populate()
        var arguments = [
            Self.browserScript, "--base", fixture.server.baseURL, "--token", fixture.tokens["alice"]!, "--reader-token", fixture.tokens["rita"]!,
            "--draft", "WEB1", "--published", "M1", "--evil-host", "EVIL-01", "--evil-agent", Self.evilAgent, "--evil-description", Self.evilDescription,
            "--narrow-group", "canary", "--narrowed-host", "EX19-01",
        ]
        // Only EX19-02 is in canary: publishing M1's revision 2 to it takes M1 from EX19-01, which
        // has it applied.
        let group = try fixture.workspace.ocs("groups", "create", "canary", "--hosts", "EX19-02", "--db", fixture.workspace.database)
        #expect(group.status == 0, "\(group.stderr)")
        let revision = try Curl.request(fixture.server.baseURL + "/api/v1/rules/M1", [
            "-X", "PUT", "-H", "Authorization: Bearer \(fixture.tokens["alice"]!)", "-H", "Content-Type: application/json", "--data-binary", Self.m1Revision2,
        ])
        #expect(revision.status == 200, "\(revision.text)")
        if let screenshot = ProcessInfo.processInfo.environment["OCS_DASHBOARD_SCREENSHOT"] {
            arguments += ["--screenshot", screenshot]
        }
        if let folder = ProcessInfo.processInfo.environment["OCS_DASHBOARD_SCREENSHOTS"] {
            arguments += ["--screenshots", folder]
        }
        let result = try Command.run("/usr/bin/python3", arguments, timeout: 240)
        #expect(result.status == 0, "\(result.output)\n\(result.stderr)\n\(fixture.server.log)")
        #expect(result.output.contains("browser: ok"))
        print(result.output)

        // The publish went through the rule store and its audit, as the API's does.
        let audit = try Curl.request(fixture.server.baseURL + "/api/v1/audit?rule=WEB1&actor=alice", ["-H", "Authorization: Bearer \(fixture.tokens["rita"]!)"])
        #expect(audit.text.replacingOccurrences(of: " ", with: "").contains("\"action\":\"rule.publish\""), "\(audit.text)")
        // Then retired through its form, confirmed, with the reason the browser gave.
        #expect(audit.text.replacingOccurrences(of: " ", with: "").contains("\"action\":\"rule.retire\""), "\(audit.text)")
        #expect(audit.text.contains("INC-42"), "\(audit.text)")
        // The narrowing went through with the reason given, and is audited as such.
        let narrowing = try Curl.request(fixture.server.baseURL + "/api/v1/audit?rule=M1&actor=alice", ["-H", "Authorization: Bearer \(fixture.tokens["rita"]!)"])
        #expect(narrowing.text.contains("narrowing allowed") && narrowing.text.contains("INC-43"), "\(narrowing.text)")
        let rule = try Curl.request(fixture.server.baseURL + "/api/v1/rules/WEB1", ["-H", "Authorization: Bearer \(fixture.tokens["rita"]!)"])
        #expect(rule.text.replacingOccurrences(of: " ", with: "").contains("\"state\":\"retired\""), "\(rule.text)")
    }
}
