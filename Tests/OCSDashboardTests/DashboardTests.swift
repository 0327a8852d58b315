import Foundation
@testable import OCSDashboard
@testable import OCSStorage
import OCSDomain
import Testing

@Suite("Dashboard HTML")
struct DashboardRenderingTests {
    let viewer = Pages.Viewer(name: "alice", canPublish: true, csrf: "c\"<sr>f")

    @Test func interpolatedTextIsEscaped() {
        let text = "<script>alert(1)</script> & \"'"
        let html: HTML = "<p title=\"\(text)\">\(text)</p>"
        #expect(html.text == "<p title=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;&#39;\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;&#39;</p>")
        let nested: HTML = "<div>\(html)</div>"
        #expect(nested.text == "<div>\(html.text)</div>")
    }

    @Test func linksEncodeTheirParts() {
        #expect(UILink.path("hosts", "a b/<c>", query: [("name", "x&y=\"z\""), ("skip", nil)]) == "/ui/hosts/a%20b%2F%3Cc%3E?name=x%26y%3D%22z%22")
    }

    func host(userAgent: String, name: String) -> HostState {
        HostState(
            id: 7,
            latest: CheckIn(serverID: nil, serverName: name, build: "15.2.1544.4", orgID: nil, applied: ["<b>x</b>"], blocked: [], mitigationsEnabled: true,
                            dataCollectionEnabled: nil, remoteAddress: "127.0.0.1", userAgent: userAgent, time: Date()),
            firstSeen: Date(), pollCount: 1
        )
    }

    @Test func userAgentAndNamesRenderAsText() {
        let evil = host(userAgent: "<script>alert(1)</script>", name: "EX<img src=x onerror=alert(2)>")
        for page in [
            Pages.hosts([evil], filter: HostFilter(name: "\"><script>alert(3)</script>"), next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer),
            Pages.host(evil, history: [HostHistoryEntry(id: 1, state: evil.latest)], next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer),
        ] {
            #expect(!page.text.contains("<script>"))
            #expect(!page.text.contains("<img"))
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(page.text.contains("EX&lt;img src=x onerror=alert(2)&gt;"))
            #expect(page.text.contains("&lt;b&gt;x&lt;/b&gt;"))
            #expect(!page.text.contains(" style="))
        }
    }

    @Test func inventoryHostsAreMarkedAsReportedNotAsUnverified() {
        var reported = host(userAgent: InventoryReport.userAgent, name: "E2k16-1")
        reported.source = .inventory
        reported.verified = true
        let list = Pages.hosts([reported, host(userAgent: "x", name: "EX01")], filter: HostFilter(), next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer)
        #expect(list.text.contains("E2k16-1</a> <span class=\"muted\" title=\"runs Microsoft's EM service: Get-ExchangeServer reports it\">inventory</span>"))
        #expect(list.text.contains("EX01</a> <span class=\"stale-yes\""))
        // A stale host's mark is markup, not escaped text, in the list and on its page.
        let stale = host(userAgent: "x", name: "EX02")
        let stalePage = Pages.host(stale, history: [], next: nil, staleSince: .distantFuture, catalog: .embedded, viewer: viewer)
        #expect(stalePage.text.contains("<span class=\"stale-yes\">stale</span>") && !stalePage.text.contains("&lt;span"))
        let staleList = Pages.hosts([stale], filter: HostFilter(), next: nil, staleSince: .distantFuture, catalog: .embedded, viewer: viewer)
        #expect(staleList.text.contains("<span class=\"stale-yes\">stale</span>") && !staleList.text.contains("&lt;span"))
        let page = Pages.host(reported, history: [], next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer)
        #expect(page.text.contains("inventory: runs Microsoft&#39;s EM service"))
    }

    @Test func aSitesHostsAreMarkedWithTheSiteAndTheTimeOfItsExport() {
        var reported = host(userAgent: "ocs-agent", name: "EXSITE1")
        reported.site = HostSite(name: "lab", exportedAt: Date(timeIntervalSince1970: 1_800_000_000))
        reported.verified = true
        let list = Pages.hosts([reported], filter: HostFilter(), next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer)
        #expect(list.text.contains("EXSITE1</a> <span class=\"muted\" title=\"polls at disconnected site lab; as of its export at 2027-01-15T08:00:00Z\">site lab</span>"))
        #expect(!list.text.contains("unverified"))
        let page = Pages.host(reported, history: [], next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer)
        #expect(page.text.contains("site lab: its signed check-in files make its record, the last exported at 2027-01-15T08:00:00Z"))
    }

    @Test func aSiteOverviewSaysWhichBundleItServesAndWarnsBeforeItExpires() {
        let summary = FleetSummary(total: 0, stale: 0, hostsByBuild: [], rules: [], staleAfterSeconds: 3600, catalog: .embedded)
        let exported = Date(timeIntervalSince1970: 1_800_000_000)
        let bundle = BundleStore.Summary(serial: 12, exportedAt: exported, expires: exported + 8 * 86400, fingerprint: "AA", importedAt: exported)
        let fresh = Pages.overview(summary, bundle: bundle, viewer: viewer, now: exported + 86400)
        #expect(fresh.text.contains("<div class=\"card\" id=\"bundle\"><div class=\"value\">serial 12</div>"))
        #expect(fresh.text.contains("expires 2027-01-23T08:00:00Z"))
        let late = Pages.overview(summary, bundle: bundle, viewer: viewer, now: exported + 7 * 86400)
        #expect(late.text.contains("<div class=\"card warn\" id=\"bundle\">"))
        let expired = Pages.overview(summary, bundle: bundle, viewer: viewer, now: exported + 9 * 86400)
        #expect(expired.text.contains("expired at 2027-01-23T08:00:00Z"))
        #expect(!Pages.overview(summary, viewer: viewer).text.contains("id=\"bundle\""))
    }

    @Test func aHostPageSaysWhereEachPublishedRuleStandsAndWhy() {
        let host = host(userAgent: "x", name: "EX19-01")  // 2019 CU14 RTM, applied ["<b>x</b>"]
        let standings = [
            RuleStanding(rule: "M1", state: .notApplicable, reason: "its build 15.2.1544.4 is not one the rule applies to"),
            RuleStanding(rule: "M9", state: .pending, reason: "exposed: served to the host, not reported applied yet"),
        ]
        let page = Pages.host(host, standings: standings, history: [], next: nil, staleSince: .distantPast, catalog: .embedded, viewer: viewer)
        #expect(page.text.contains("<span class=\"state notApplicable\">not applicable</span>"))
        #expect(page.text.contains("exposed: served to the host, not reported applied yet"))
        #expect(!page.text.contains(">notApplicable<"))
    }

    @Test func aRulePageShowsWhatTheRuleDoesInFullAndADraftWithNoImpactSaysSo() {
        let rewrite = UrlRewrite(scope: .site, site: "Default Web Site", rule: .init(name: "PowerShell - inbound", input: "{UrlDecode:{REQUEST_URI}}", pattern: ".*autodiscover\\.json.*Powershell.*", action: "AbortRequest"))
        let rule = Mitigation(
            id: "M1", description: "d", state: .draft, applies: Applicability(products: [.exchange2016, .exchange2019], narrowing: .fixedBy("Oct22SU")),
            actions: [.iisUrlRewrite(rewrite, description: nil), .disableService("MSExchangeUM", description: nil)]
        )
        let record = RuleRecord(rule: rule, revision: 1, latestRevision: 1, createdAt: Date(), updatedAt: Date(), firstPublishedAt: nil)
        let page = Pages.rule(.init(record: record, revisions: [], diff: nil, coverage: nil, impact: []), viewer: viewer)
        #expect(page.text.contains("on the site \u{201C}Default Web Site\u{201D}, input {UrlDecode:{REQUEST_URI}}, pattern .*autodiscover\\.json.*Powershell.*, action AbortRequest"))
        #expect(page.text.contains("stops and disables the Windows service MSExchangeUM"))
        #expect(page.text.contains("Exchange2016, Exchange2019, until Oct22SU is installed"))
        #expect(page.text.contains("No known host runs a build it applies to.") && !page.text.contains("<table><thead><tr><th>Build</th>"))
    }

    @Test func ruleDescriptionWithMarkupRendersAsText() {
        let rule = Mitigation(id: "M1", description: "<b onmouseover=alert(1)>bold</b><script>alert(2)</script>", state: .draft, actions: [.doNothing(description: "<i>x</i>")])
        let record = RuleRecord(rule: rule, revision: 1, latestRevision: 1, createdAt: Date(), updatedAt: Date(), firstPublishedAt: nil)
        let page = Pages.rule(.init(record: record, revisions: [RuleRevision(ruleID: "M1", revision: 1, rule: rule, author: "<me>", createdAt: Date())],
                                    diff: LineDiff(["a: <old>"], ["a: <new>"]), coverage: nil, impact: [("15.2.1544.4", 2)]), viewer: viewer)
        #expect(page.text.contains("&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt;&lt;script&gt;alert(2)&lt;/script&gt;"))
        #expect(!page.text.contains("<script>"))
        #expect(page.text.contains("&lt;i&gt;x&lt;/i&gt;"))
        #expect(page.text.contains("+ a: &lt;new&gt;"))
        #expect(page.text.contains("&lt;me&gt;"))
        // The CSRF token goes into its hidden field escaped too.
        #expect(page.text.contains("value=\"c&quot;&lt;sr&gt;f\""))
        #expect(page.text.contains("id=\"rule-publish\""))
        // A draft's publish form asks who receives it; everyone is not ticked for you.
        #expect(page.text.contains("name=\"to\" id=\"rule-publish-to\"") && page.text.contains("name=\"everyone\" value=\"on\" id=\"rule-publish-everyone\">"))
        #expect(page.text.contains("required: groups or everyone") && !page.text.contains("checked"))
        let readerPage = Pages.rule(.init(record: record, revisions: [], diff: nil, coverage: nil, impact: nil),
                                    viewer: Pages.Viewer(name: "r", canPublish: false, csrf: "x"))
        #expect(!readerPage.text.contains("rule-publish"))
    }

    /// During an incident the rule page says how much of its coverage rests on verified hosts.
    @Test func theRulePageCountsVerifiedHostsAlone() throws {
        var all = CoverageCounts()
        all.add(.applied, hosts: 3)
        all.add(.pending, hosts: 1)
        var verified = CoverageCounts()
        verified.add(.applied, hosts: 1)
        verified.add(.pending, hosts: 1)
        let line = Pages.verifiedLine(RuleCoverage(rule: "M1", revision: 1, hosts: verified), of: all).text
        #expect(line.contains("2 of 4 in scope, 1 applied, 1 exposed"), "\(line)")
        #expect(line.contains("The other 2 did not enroll"))
        #expect(Pages.verifiedLine(RuleCoverage(rule: "M1", revision: 1, hosts: all), of: all).text.isEmpty, "every host verified: nothing to add")
    }

    @Test func coverageBarLinksEverySegmentToItsHosts() {
        var counts = CoverageCounts()
        counts.add(.applied, hosts: 3)
        counts.add(.pending, hosts: 1)
        counts.add(.stale, hosts: 1)
        let bar = Pages.coverageBar(RuleCoverage(rule: "M1", revision: 2, hosts: counts)).text
        #expect(bar.contains("<svg class=\"bar\""))
        #expect(bar.contains("href=\"/ui/rules/M1/hosts?state=applied\"><rect class=\"applied\" x=\"0\" y=\"0\" width=\"600\""))
        #expect(bar.contains("<rect class=\"pending\" x=\"600\" y=\"0\" width=\"200\""))
        #expect(bar.contains("<rect class=\"stale\" x=\"800\" y=\"0\" width=\"200\""))
        #expect(!bar.contains("<rect class=\"blocked\""))
    }
}
