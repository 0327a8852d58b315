import Foundation
import OCSDomain
import OCSStorage

/// The dashboard's pages as HTML, from values already read: no I/O here, so every page can be
/// rendered and checked in unit tests.
public enum Pages {
    /// Who is looking: their name and whether they may change rules (forms are shown only then).
    public struct Viewer: Sendable {
        public let name: String
        public let canPublish: Bool
        public let csrf: String

        public init(name: String, canPublish: Bool, csrf: String) {
            self.name = name
            self.canPublish = canPublish
            self.csrf = csrf
        }
    }

    public enum Section: String, Sendable { case overview, rules, hosts, upstream, audit }

    /// The page frame: navigation, who is signed in, sign-out.
    public static func layout(title: String, section: Section?, viewer: Viewer?, notice: HTML = .empty, _ content: HTML) -> HTML {
        let nav: [(Section, String, String)] = [
            (.overview, "Overview", UILink.root), (.rules, "Rules", UILink.path("rules")),
            (.hosts, "Hosts", UILink.path("hosts")), (.upstream, "Microsoft", UILink.path("upstream")), (.audit, "Audit", UILink.path("audit")),
        ]
        var header: HTML = ""
        if let viewer {
            let links = nav.map { item -> HTML in
                item.0 == section ? "<a class=\"current\" href=\"\(item.2)\">\(item.1)</a>" : "<a href=\"\(item.2)\">\(item.1)</a>"
            }
            header = """
                <header class="top"><span class="brand">ocs</span><nav>\(HTML.join(links, separator: " · "))</nav>\
                <div class="who"><span id="signed-in-as">\(viewer.name)\(viewer.canPublish ? "" : " (reader)")</span>\
                <form method="post" action="\(UILink.path("logout"))">\(csrfField(viewer))<button class="secondary" type="submit">Sign out</button></form></div></header>
                """
        } else {
            header = "<header class=\"top\"><span class=\"brand\">ocs</span></header>"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(title) · ocs</title><link rel="stylesheet" href="\(Stylesheet.path)"><link rel="icon" href="\(Stylesheet.iconPath)" type="image/svg+xml"></head>
            <body>\(header)<main>\(notice)\(content)</main></body></html>

            """
    }

    static func csrfField(_ viewer: Viewer) -> HTML {
        csrfField(viewer.csrf)
    }

    static func csrfField(_ token: String) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(token)\">"
    }

    public static func notice(_ message: String, error: Bool = false) -> HTML {
        "<div class=\"notice\(error ? " error" : "")\" role=\"status\">\(message)</div>"
    }

    // MARK: Sign in

    /// The sign-in form; `csrf` is the token of the browser's pre-session cookie, sent back with it.
    public static func login(message: String?, csrf: String) -> HTML {
        layout(title: "Sign in", section: nil, viewer: nil, notice: message.map { notice($0, error: true) } ?? .empty, """
            <div class="login"><h1>Sign in</h1>
            <form method="post" action="\(UILink.path("login"))">\(csrfField(csrf))
            <label for="token">API token</label>
            <input id="token" name="token" type="password" autocomplete="off" required>
            <button type="submit" id="sign-in">Sign in</button></form>
            <p class="muted">Use a token from <code>ocs tokens create</code>. Readers may look; publishers may also publish, retire and roll back rules.</p></div>
            """)
    }

    // MARK: Overview

    /// `exposed`: how many hosts are exposed to at least one published rule.
    /// `upstream`: what Microsoft serves, flagged when it ships a mitigation no rule in ocs has.
    /// `bundle`: on a disconnected site, the central bundle served, flagged when it expires within two days.
    public static func overview(
        _ summary: FleetSummary, exposed: Int = 0, upstream: UpstreamStatus? = nil, bundle: BundleStore.Summary? = nil, viewer: Viewer, now: Date = Date()
    ) -> HTML {
        let hosts = summary.hosts
        var served: HTML = .empty
        if let bundle {
            let state = bundle.expires <= now ? "expired at" : "expires"
            served = """
                <div class="card\(bundle.expires.timeIntervalSince(now) < 2 * 86400 ? " warn" : "")" id="bundle"><div class="value">serial \(bundle.serial)</div>\
                <div class="label">served from the central bundle exported \(time(bundle.exportedAt)); \(state) \(time(bundle.expires)): ocs bundle import a newer one before</div></div>
                """
        }
        var microsoft: HTML = .empty
        if let upstream, upstream.current != nil {
            let missing = upstream.withoutRule
            microsoft = """
                <a class="card\(missing.isEmpty ? "" : " warn")" href="\(UILink.path("upstream"))" id="upstream-link"><div class="value" id="upstream-without-rule">\(missing.count)</div>\
                <div class="label">\(missing.isEmpty ? "of Microsoft's mitigations without a rule here" : "of Microsoft's mitigations without a rule here: " + missing.joined(separator: ", "))</div></a>
                """
        }
        let cards: HTML = """
            <div class="cards">
            <a class="card\(exposed > 0 ? " warn" : "")" href="\(UILink.path("exposed"))" id="exposed-link"><div class="value" id="hosts-exposed">\(exposed)</div>\
            <div class="label">exposed to a published rule: the list, with why</div></a>
            <a class="card" href="\(UILink.path("hosts"))"><div class="value" id="hosts-total">\(hosts.total)</div><div class="label">hosts</div></a>
            <div class="card\(hosts.verified < hosts.total ? " warn" : "")"><div class="value" id="hosts-verified">\(hosts.verified)</div><div class="label">verified (enrolled, reported by Get-ExchangeServer, or verified at their site); the rest could be anyone's</div></div>
            <a class="card\(hosts.stale > 0 ? " warn" : "")" href="\(UILink.path("hosts", query: [("stale", "true")]))"><div class="value" id="hosts-stale">\(hosts.stale)</div><div class="label">stale (no poll for \(duration(summary.staleAfterSeconds)))</div></a>
            <div class="card\(hosts.notOnNewestUpdate > 0 ? " warn" : "")"><div class="value">\(hosts.notOnNewestUpdate)</div><div class="label">not on the newest update of their CU</div></div>
            <div class="card"><div class="value">\(hosts.unknownBuild)</div><div class="label">reported no build</div></div>\(microsoft)\(served)
            </div>
            """
        let rules = summary.rules.isEmpty
            ? "<p class=\"muted\">No published rules.</p>"
            : HTML.join(summary.rules.map { coverage -> HTML in
                """
                <div class="rule-coverage"><h3><a href="\(UILink.path("rules", coverage.rule))">\(coverage.rule)</a> \
                <span class="muted">revision \(coverage.revision) · \(coverage.hosts.applied) of \(coverage.hosts.inScope) in scope applied, \(coverage.hosts.exposed) exposed</span>\
                \(narrowedNote(coverage))</h3>
                \(coverageBar(coverage))</div>
                """
            })
        let products = HTML.join(summary.products.map { product -> HTML in
            "<tr><td><a href=\"\(UILink.path("hosts", query: [("product", product.product.rawValue)]))\">\(product.product.displayName)</a></td><td class=\"num\">\(product.hosts)</td></tr>"
        })
        let cumulativeUpdates = HTML.join(summary.cumulativeUpdates.map { cu -> HTML in
            """
            <tr><td>\(cu.product.displayName)</td><td><a href="\(UILink.path("hosts", query: [("product", cu.product.rawValue), ("cu", cu.cumulativeUpdate)]))">\(cu.cumulativeUpdate)</a></td>\
            <td class="num">\(cu.hosts)</td><td>\(cu.newestName ?? "")</td><td class="num">\(cu.notOnNewestUpdate)</td></tr>
            """
        }) + unlistedRow(summary.unlistedCumulativeUpdates, "CU branches", columns: 5)
        let builds = HTML.join(summary.builds.map(buildRow)) + unlistedRow(summary.unlistedBuilds, "builds", columns: 4)
        return layout(title: "Overview", section: .overview, viewer: viewer, """
            <h1>Fleet overview</h1>
            \(cards)
            <h2>Coverage of published rules</h2>
            \(rules)
            <h2>Products</h2>
            <table><thead><tr><th>Product</th><th class="num">Hosts</th></tr></thead><tbody>\(products)</tbody></table>
            <h2>Cumulative updates</h2>
            <table><thead><tr><th>Product</th><th>CU</th><th class="num">Hosts</th><th>Newest update</th><th class="num">Behind</th></tr></thead><tbody>\(cumulativeUpdates)</tbody></table>
            <h2>Build distribution</h2>
            \(buildTable(builds))
            <p><a href="\(UILink.path("builds"))" id="all-builds">Every reported build</a>, a page at a time.</p>
            """)
    }

    static func buildTable(_ rows: HTML) -> HTML {
        "<table id=\"builds\"><thead><tr><th>Build</th><th>Name</th><th class=\"num\">Hosts</th><th>Newest on branch</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    static func buildRow(_ build: FleetSummary.BuildCount) -> HTML {
        "<tr><td>\(build.build)</td><td>\(build.name)</td><td class=\"num\">\(build.hosts)</td><td>\(build.newestOnBranch.map { $0 ? "yes" : "no" } ?? "?")</td></tr>"
    }

    /// Every build hosts report, a page at a time in the order of their text.
    public static func builds(_ builds: [FleetSummary.BuildCount], next: String?, viewer: Viewer) -> HTML {
        let nextLink = next.map { UILink.path("builds", query: [("cursor", $0)]) }
        return layout(title: "Builds", section: .overview, viewer: viewer, """
            <h1>Every reported build</h1><p class="muted">In the order of their text; the overview lists the \(FleetSummary.maximumListed) with the most hosts.</p>
            \(builds.isEmpty ? "<p class=\"muted\" id=\"no-builds\">No host reported a build.</p>" : buildTable(HTML.join(builds.map(buildRow))))\(pager(nextLink))
            """)
    }

    /// The row closing a bounded table: how many entries and hosts it left out.
    static func unlistedRow(_ unlisted: FleetSummary.Unlisted?, _ entries: String, columns: Int) -> HTML {
        guard let unlisted else { return "" }
        return "<tr class=\"unlisted\"><td colspan=\"\(columns)\">and \(unlisted.entries) more \(entries) with \(unlisted.hosts) hosts (the \(FleetSummary.maximumListed) with the most hosts are listed)</td></tr>"
    }

    /// Coverage over verified hosts alone, when some in scope are not verified: anyone could have
    /// sent what those report, so only the verified ones' "applied" is proof.
    static func verifiedLine(_ verified: RuleCoverage?, of all: CoverageCounts) -> HTML {
        guard let counts = verified?.hosts, counts.inScope < all.inScope else { return "" }
        return """
            <p class="muted" id="coverage-verified">Verified (enrolled) hosts alone: \(counts.inScope) of \(all.inScope) in scope, \
            \(counts.applied) applied, \(counts.exposed) exposed. The other \(all.inScope - counts.inScope) did not enroll: anyone could have sent what they report.</p>
            """
    }

    /// The states a coverage bar shows, in its order.
    public static let barStates: [CoverageState] = [.applied, .pending, .disabled, .blocked, .stale]

    /// A rule's in-scope hosts as one bar drawn on the server: a segment per state, each a link to
    /// those hosts. Widths are in a 1000-unit view box, so no style is needed.
    public static func coverageBar(_ coverage: RuleCoverage) -> HTML {
        let counts = coverage.hosts
        let total = barStates.reduce(0) { $0 + counts[$1] }
        var x = 0
        var segments: [HTML] = []
        if total == 0 {
            segments.append("<rect class=\"empty\" x=\"0\" y=\"0\" width=\"1000\" height=\"20\"><title>no hosts in scope</title></rect>")
        }
        for (index, state) in barStates.enumerated() where total > 0 && counts[state] > 0 {
            let isLast = barStates[(index + 1)...].allSatisfy { counts[$0] == 0 }
            let width = isLast ? 1000 - x : Int((Double(counts[state]) * 1000 / Double(total)).rounded())
            let link = UILink.path("rules", coverage.rule, "hosts", query: [("state", state.rawValue)])
            segments.append("""
                <a href="\(link)"><rect class="\(state.rawValue)" x="\(x)" y="0" width="\(width)" height="20"><title>\(state.label): \(counts[state])</title></rect></a>
                """)
            x += width
        }
        let legend = HTML.join(barStates.map { state -> HTML in
            let link = UILink.path("rules", coverage.rule, "hosts", query: [("state", state.rawValue)])
            return "<li><a href=\"\(link)\"><span class=\"swatch \(state.rawValue)\"></span>\(state.label) \(counts[state])</a></li>"
        })
        return """
            <svg class="bar" viewBox="0 0 1000 20" preserveAspectRatio="none" role="img" aria-label="coverage of \(coverage.rule)">\(segments)</svg>
            <ul class="legend">\(legend)</ul>
            """
    }

    // MARK: Rules

    public static func rules(_ records: [RuleRecord], viewer: Viewer) -> HTML {
        let rows = HTML.join(records.map { record -> HTML in
            let pending: HTML = record.latestRevision > record.revision ? " <span class=\"muted\">(revision \(record.latestRevision) pending)</span>" : ""
            return """
                <tr><td><a href="\(UILink.path("rules", record.rule.id))">\(record.rule.id)</a></td>\
                <td><span class="state \(record.rule.state.rawValue)">\(record.rule.state.rawValue)</span></td>\
                <td class="num">\(record.revision)</td><td>\(pending)</td><td class="text">\(record.rule.description)</td></tr>
                """
        })
        return layout(title: "Rules", section: .rules, viewer: viewer, """
            <h1>Rules</h1>
            <table id="rules"><thead><tr><th>Rule</th><th>State</th><th class="num">Revision</th><th></th><th>Description</th></tr></thead><tbody>\(rows)</tbody></table>
            """)
    }

    /// Everything the rule page shows.
    public struct RulePage: Sendable {
        public var record: RuleRecord
        public var revisions: [RuleRevision]
        /// The served revision's YAML and the pending one's, when a newer revision waits.
        public var diff: LineDiff?
        public var coverage: RuleCoverage?
        /// The same counted over verified (enrolled) hosts alone: what can be counted as protected.
        public var verifiedCoverage: RuleCoverage?
        /// For a draft (or a pending revision): the hosts it would apply to, per build.
        public var impact: [(build: String, hosts: Int)]?

        public init(
            record: RuleRecord, revisions: [RuleRevision], diff: LineDiff?, coverage: RuleCoverage?,
            verifiedCoverage: RuleCoverage? = nil, impact: [(build: String, hosts: Int)]?
        ) {
            self.record = record
            self.revisions = revisions
            self.diff = diff
            self.coverage = coverage
            self.verifiedCoverage = verifiedCoverage
            self.impact = impact
        }
    }

    public static func rule(_ page: RulePage, viewer: Viewer, notice: HTML = .empty) -> HTML {
        let record = page.record
        let rule = record.rule
        let id = rule.id
        var sections: [HTML] = []
        let pending = record.latestRevision > record.revision || rule.state == .draft
        sections.append("""
            <dl class="facts">
            <dt>State</dt><dd><span class="state \(rule.state.rawValue)" id="rule-state">\(rule.state.rawValue)</span></dd>
            <dt>\(rule.state == .published ? "Served revision" : "Current revision")</dt><dd id="served-revision">\(record.revision)</dd>
            \(record.release.map { "<dt>Released to</dt><dd id=\"rule-release\">\($0.description)</dd>" as HTML } ?? .empty)
            <dt>Pending revision</dt><dd id="pending-revision">\(record.latestRevision > record.revision ? "\(record.latestRevision)" : "none")</dd>
            <dt>Description</dt><dd class="text" id="rule-description">\(rule.description)</dd>
            <dt>References</dt><dd>\(HTML.join(rule.references.map { "<div class=\"text\">\($0)</div>" as HTML }))</dd>
            <dt>Applies to</dt><dd class="text" id="rule-applies">\(appliesText(rule.applies))</dd>
            <dt>Actions</dt><dd id="rule-actions">\(HTML.join(rule.actions.map { "<div class=\"text\">\(actionText($0))\($0.description.map { " (" + $0 + ")" } ?? "")</div>" as HTML }))</dd>
            </dl>
            """)
        if viewer.canPublish {
            var forms: [HTML] = []
            if pending {
                forms.append(actionForm(
                    id, "publish", label: "Publish revision \(record.latestRevision)", expected: record.latestRevision, viewer: viewer,
                    fields: releaseFields("publish", keeping: record.release)
                ))
            }
            if rule.state == .published {
                // Retiring takes the rule from every host that has it: confirmed, with a reason.
                let applied = page.coverage?.hosts.applied ?? 0
                forms.append(actionForm(id, "retire", label: "Retire", expected: record.latestRevision, viewer: viewer, style: "danger", fields: """
                    <label><input type="checkbox" name="confirm" value="on" id="rule-retire-confirm" required>                     remove it from the \(applied) host\(applied == 1 ? "" : "s") that have it applied</label>\(reasonField("retire", required: true))
                    """))
            }
            let earlier = page.revisions.map(\.revision).filter { $0 != record.revision }
            if record.firstPublishedAt != nil, !earlier.isEmpty {
                let options = HTML.join(earlier.reversed().map { "<option value=\"\($0)\">revision \($0)</option>" as HTML })
                forms.append("""
                    <form method="post" action="\(UILink.path("rules", id, "rollback"))">\(csrfField(viewer))\
                    <input type="hidden" name="expected" value="\(record.latestRevision)">\
                    <label>Roll back to <select name="revision">\(options)</select></label>\
                    \(releaseFields("rollback", keeping: record.release))\
                    <button class="secondary" type="submit" id="rule-rollback">Publish that revision</button></form>
                    """)
            }
            if !forms.isEmpty { sections.append("<div class=\"actions\">\(forms)</div>") }
        }
        if let diff = page.diff {
            let lines = HTML.join(diff.lines.map { line -> HTML in
                let kind = line.hasPrefix("+") ? "add" : line.hasPrefix("-") ? "del" : "same"
                return "<span class=\"\(kind)\">\(line.isEmpty ? " " : line)</span>"
            })
            sections.append("<h2>Changes from revision \(record.revision) to \(record.latestRevision)</h2><pre class=\"diff\" id=\"diff\">\(lines)</pre>")
        }
        if let coverage = page.coverage {
            let counts = coverage.hosts
            let rows = HTML.join(CoverageState.allCases.map { state -> HTML in
                "<tr><td><a href=\"\(UILink.path("rules", id, "hosts", query: [("state", state.rawValue)]))\">\(state.label)</a></td><td class=\"num\">\(counts[state])</td></tr>"
            })
            sections.append("""
                <h2>Coverage of revision \(coverage.revision)</h2>\(coverageBar(coverage))
                <table id="coverage"><thead><tr><th>State</th><th class="num">Hosts</th></tr></thead><tbody>\(rows)\
                <tr><td><a href="\(UILink.path("rules", id, "hosts", query: [("state", "exposed")]))">exposed</a></td><td class="num">\(counts.exposed)</td></tr>\
                \(narrowedRow(id, counts))</tbody></table>
                \(verifiedLine(page.verifiedCoverage, of: counts))
                """)
        }
        if let impact = page.impact {
            let total = impact.reduce(0) { $0 + $1.hosts }
            let rows = HTML.join(impact.sorted { $0.build < $1.build }.map { "<tr><td>\($0.build)</td><td class=\"num\">\($0.hosts)</td></tr>" as HTML })
            sections.append(total == 0 ? """
                <h2>Impact of revision \(record.latestRevision)</h2>
                <p id="impact">No known host runs a build it applies to.</p>
                """ : """
                <h2>Impact of revision \(record.latestRevision)</h2>
                <p id="impact">It applies to <strong>\(total)</strong> known host\(total == 1 ? "" : "s").</p>
                <table><thead><tr><th>Build</th><th class="num">Hosts</th></tr></thead><tbody>\(rows)</tbody></table>
                """)
        }
        let revisions = HTML.join(page.revisions.reversed().map { revision -> HTML in
            "<tr><td class=\"num\">\(revision.revision)</td><td>\(revision.author)</td><td>\(time(revision.createdAt))</td></tr>"
        })
        sections.append("<h2>Revisions</h2><table><thead><tr><th class=\"num\">Revision</th><th>Author</th><th>Created</th></tr></thead><tbody>\(revisions)</tbody></table>")
        return layout(title: id, section: .rules, viewer: viewer, notice: notice, "<h1>Rule \(id)</h1>\(sections)")
    }

    /// What an action does, in full: what a reviewer must see before publishing it.
    static func actionText(_ action: MitigationAction) -> String {
        switch action {
        case .doNothing: "DoNothing: changes nothing (a heartbeat)"
        case .disableService(let service, _): "DisableService: stops and disables the Windows service \(service)"
        case .disableAppPool(let pool, _): "DisableAppPool: stops the IIS application pool \(pool) and turns its autoStart off"
        case .iisUrlRewrite(let rewrite, _):
            "IISUrlRewrite: rule \u{201C}\(rewrite.rule.name)\u{201D} " + (rewrite.scope == .site ? "on the site \u{201C}\(rewrite.site ?? "")\u{201D}" : "at server level (every site)")
                + ", input \(rewrite.rule.input), pattern \(rewrite.rule.pattern), action \(rewrite.rule.action)"
        }
    }

    /// The builds a rule targets, in words.
    static func appliesText(_ applies: Applicability?) -> String {
        guard let applies else { return "every build of every product" }
        var parts = [applies.products.map { $0.map(\.rawValue).joined(separator: ", ") } ?? "every product"]
        if let cus = applies.cumulativeUpdates { parts.append("on " + cus.map(\.description).joined(separator: ", ")) }
        switch applies.narrowing {
        case .fixedBy(let update)?: parts.append("until \(update) is installed")
        case .ranges(let ranges)?: parts.append("within \(ranges.count) build range\(ranges.count == 1 ? "" : "s") (ocs rules show gives them)")
        case nil: break
        }
        return parts.joined(separator: ", ")
    }

    static func actionForm(_ id: String, _ action: String, label: String, expected: Int, viewer: Viewer, style: String = "", fields: HTML = .empty) -> HTML {
        """
        <form method="post" action="\(UILink.path("rules", id, action))">\(csrfField(viewer))\
        <input type="hidden" name="expected" value="\(expected)">\(fields)<button class="\(style)" type="submit" id="rule-\(action)">\(label)</button></form>
        """
    }

    /// Who a publish or rollback releases the rule to: group names or everyone (neither keeps a
    /// published rule's release; the server refuses neither for any other rule); whether it may
    /// take the rule from hosts that have it applied (refused without, naming how many); why.
    static func releaseFields(_ action: String, keeping current: Release?) -> HTML {
        let hint = current.map { "empty keeps \($0.description)" } ?? "required: groups or everyone"
        let narrow: HTML = current == nil ? .empty : """
            <label><input type="checkbox" name="narrow" value="on" id="rule-\(action)-narrow"> narrow: hosts it no longer reaches remove it</label>
            """
        return """
            <label>To groups <input type="text" name="to" id="rule-\(action)-to" placeholder="canary,ring1" \
            maxlength="2100" autocomplete="off" aria-describedby="rule-\(action)-hint"></label>\
            <label><input type="checkbox" name="everyone" value="on" id="rule-\(action)-everyone"> everyone</label>\
            <span class="muted" id="rule-\(action)-hint">\(hint)</span>\(narrow)\(reasonField(action, required: false))
            """
    }

    /// The incident or ticket a change is made for, kept in the audit trail.
    static func reasonField(_ action: String, required: Bool) -> HTML {
        """
        <label>Reason <input type="text" name="reason" id="rule-\(action)-reason" maxlength="256" autocomplete="off" \
        placeholder="incident or ticket"\(required ? " required" : "")></label>
        """
    }

    public static func ruleHosts(
        rule: String, state: String, hosts: [HostState], standings: [Int64: RuleStanding] = [:], next: String?, staleSince: Date, catalog: BuildCatalog, viewer: Viewer
    ) -> HTML {
        let nextLink = next.map { UILink.path("rules", rule, "hosts", query: [("state", state), ("cursor", $0)]) }
        let words = CoverageState(rawValue: state)?.label ?? ["inScope": "in scope", "narrowed": "removed by narrowing"][state] ?? state
        return layout(title: "\(rule) \(words)", section: .rules, viewer: viewer, """
            <h1>Hosts \(words) for <a href="\(UILink.path("rules", rule))">\(rule)</a></h1>
            \(hostTable(hosts, staleSince: staleSince, catalog: catalog, why: standings))\(pager(nextLink))
            """)
    }

    /// On the overview, the hosts a narrowing took the rule from, once there are any.
    static func narrowedNote(_ coverage: RuleCoverage) -> HTML {
        guard coverage.hosts.narrowed > 0 else { return .empty }
        return """
             <a class="stale-yes" href="\(UILink.path("rules", coverage.rule, "hosts", query: [("state", "narrowed")]))">\
            \(coverage.hosts.narrowed) removed by narrowing</a>
            """
    }

    /// The hosts a narrowing took the rule from, of those not applicable: shown once there are any.
    static func narrowedRow(_ rule: String, _ counts: CoverageCounts) -> HTML {
        guard counts.narrowed > 0 else { return .empty }
        return """
            <tr id="coverage-narrowed"><td><a href="\(UILink.path("rules", rule, "hosts", query: [("state", "narrowed")]))">removed by narrowing</a> \
            <span class="muted">(of not applicable: they had it applied)</span></td><td class="num">\(counts.narrowed)</td></tr>
            """
    }

    // MARK: Microsoft

    /// What Microsoft serves now, when it changed, which of its mitigations have no rule here, and
    /// every document kept, newest first.
    public static func upstream(_ status: UpstreamStatus, documents: [UpstreamDocument], next: String?, viewer: Viewer) -> HTML {
        let nextLink = next.map { UILink.path("upstream", query: [("cursor", $0)]) }
        var current: HTML = "<p class=\"muted\" id=\"upstream-none\">No document of Microsoft's is kept yet: <code>ocs upstream fetch</code>, <code>ocs serve --upstream-interval</code> or <code>ocs upstream import FILE</code>.</p>"
        if let document = status.current {
            let configs = HTML.join(document.configIDs.map { id -> HTML in
                status.withoutRule.contains(id)
                    ? "<li><strong>\(id)</strong> <span class=\"stale-yes\">no rule here</span></li>"
                    : "<li><a href=\"\(UILink.path("rules", id))\">\(id)</a></li>"
            })
            current = """
                <dl class="facts" id="upstream-current">
                <dt>Serving since</dt><dd>\(time(document.firstSeen)) (first seen)</dd><dt>Last seen</dt><dd>\(time(document.lastSeen))</dd>
                <dt>Signed</dt><dd>\(document.stampedAt.map(time) ?? "no time-stamp") by \(document.signer)</dd>
                <dt>Digest</dt><dd><code>\(document.digest)</code> (\(document.size) bytes, <a href="/api/v1/upstream/\(document.digest)">as served</a>, with an API token)</dd>
                <dt>Mitigations</dt><dd><ul class="plain" id="upstream-configs">\(configs)</ul></dd>
                </dl>
                """
        }
        let rows = HTML.join(documents.map { document -> HTML in
            """
            <tr><td class="nowrap">\(time(document.firstSeen))</td><td class="nowrap">\(time(document.lastSeen))</td>\
            <td class="text">\(document.configIDs.joined(separator: ", "))</td><td><code>\(String(document.digest.prefix(16)))</code></td><td class="text">\(document.origin)</td></tr>
            """
        })
        return layout(title: "Microsoft", section: .upstream, viewer: viewer, """
            <h1>What Microsoft ships</h1>
            <p class="muted">Documents from Microsoft's OCS, each verified against Microsoft's code-signing root (and its time-stamp against Microsoft's time-stamping root) before it was kept.</p>
            \(current)
            <h2>Every document kept</h2>
            \(documents.isEmpty ? HTML.empty : "<table id=\"upstream-documents\"><thead><tr><th>First seen</th><th>Last seen</th><th>Mitigations</th><th>Digest</th><th>From</th></tr></thead><tbody>\(rows)</tbody></table>")\(pager(nextLink))
            """)
    }

    // MARK: Exposed hosts

    /// Hosts exposed to at least one published rule, each with every rule it is exposed to and why.
    /// `fixedBy`: the update that fixes each rule's vulnerability, by rule id, when the rule says.
    public static func exposed(
        _ hosts: [HostState], standings: [Int64: [RuleStanding]], fixedBy: [String: String] = [:], total: Int, next: String?, staleSince: Date,
        catalog: BuildCatalog, viewer: Viewer
    ) -> HTML {
        let nextLink = next.map { UILink.path("exposed", query: [("cursor", $0)]) }
        let rows = HTML.join(hosts.map { host -> HTML in
            let exposed = (standings[host.id] ?? []).filter { CoverageState.exposed.contains($0.state) }
            let why = HTML.join(exposed.map { standing -> HTML in
                let fix: HTML = fixedBy[standing.rule].map { " <span class=\"muted\">(fixed by \($0))</span>" } ?? .empty
                return "<div class=\"text\"><a href=\"\(UILink.path("rules", standing.rule))\">\(standing.rule)</a>: \(standing.reason)\(fix)</div>"
            })
            return """
                <tr><td class="nowrap"><a href="\(UILink.path("hosts", String(host.id)))">\(host.displayName)</a>\(verifiedMark(host))</td><td>\(why)</td>\
                <td>\(host.latest.build)<div class="muted">\(buildName(host.latest.build, catalog))</div></td>\
                <td class="nowrap">\(time(host.lastSeen))\(staleMark(host.lastSeen < staleSince))</td></tr>
                """
        })
        let table: HTML = hosts.isEmpty ? "<p class=\"muted\" id=\"no-hosts\">No host is exposed to a published rule.</p>" : """
            <table id="exposed"><thead><tr><th>Host</th><th>Exposed to, and why</th><th>Build</th><th>Last poll</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        return layout(title: "Exposed hosts", section: .hosts, viewer: viewer, """
            <h1>Hosts exposed to a published rule</h1>
            <p><strong id="exposed-total">\(total)</strong> host\(total == 1 ? "" : "s"). \
            <a href="\(UILink.path("exposed.csv"))" id="exposed-csv" download>Download as CSV</a> (every exposed host, for the people who will patch).</p>
            \(table)\(pager(nextLink))
            """)
    }

    // MARK: Hosts

    public static func hosts(_ hosts: [HostState], filter: HostFilter, next: String?, staleSince: Date, catalog: BuildCatalog, viewer: Viewer) -> HTML {
        func selected(_ flag: Bool) -> HTML { flag ? " selected" : "" }
        let products = HTML.join(ExchangeProduct.allCases.map { product -> HTML in
            "<option value=\"\(product.rawValue)\"\(selected(filter.product == product))>\(product.displayName)</option>"
        })
        let query: [(String, String?)] = [
            ("name", filter.name), ("stale", filter.stale.map { $0 ? "true" : "false" }),
            ("product", filter.product?.rawValue), ("cu", filter.cumulativeUpdate),
        ]
        let nextLink = next.map { UILink.path("hosts", query: query + [("cursor", $0)]) }
        return layout(title: "Hosts", section: .hosts, viewer: viewer, """
            <h1>Hosts</h1>
            <form class="filters" method="get" action="\(UILink.path("hosts"))">
            <label>Name or serverId<input name="name" value="\(filter.name)"></label>
            <label>Stale<select name="stale"><option value="">any</option><option value="true"\(selected(filter.stale == true))>stale</option>\
            <option value="false"\(selected(filter.stale == false))>polling</option></select></label>
            <label>Product<select name="product"><option value="">any</option>\(products)</select></label>
            <label>CU<input name="cu" value="\(filter.cumulativeUpdate)" placeholder="CU14" size="6"></label>
            <button type="submit">Filter</button></form>
            \(hostTable(hosts, staleSince: staleSince, catalog: catalog))\(pager(nextLink))
            """)
    }

    /// " unverified" after a host that did not enroll: what it reports could come from anyone.
    /// Each published rule's state on one host, with why.
    static func ruleStandings(_ standings: [RuleStanding]) -> HTML {
        guard !standings.isEmpty else { return "<p class=\"muted\" id=\"host-rules\">No rule is published.</p>" }
        let rows = HTML.join(standings.map { standing -> HTML in
            """
            <tr><td><a href="\(UILink.path("rules", standing.rule))">\(standing.rule)</a></td>\
            <td><span class="state \(standing.narrowed == nil ? standing.state.rawValue : "narrowed")">\(standing.label)</span></td><td class="text">\(standing.reason)</td></tr>
            """
        })
        return "<table id=\"host-rules\"><thead><tr><th>Rule</th><th>State</th><th>Why</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    /// " stale" after a host's last poll when it is older than the cut-off.
    static func staleMark(_ isStale: Bool) -> HTML {
        isStale ? " <span class=\"stale-yes\">stale</span>" : .empty
    }

    static func verifiedMark(_ host: HostState) -> HTML {
        siteMark(host) + {
            if host.source == .inventory {
                return " <span class=\"muted\" title=\"runs Microsoft's EM service: Get-ExchangeServer reports it\">inventory</span>"
            }
            return host.verified ? "" : " <span class=\"stale-yes\" title=\"not enrolled: anyone could have sent what it reports\">unverified</span>"
        }()
    }

    /// " site NAME" after a host a disconnected site reports: what is shown is as of its export.
    static func siteMark(_ host: HostState) -> HTML {
        guard let site = host.site else { return .empty }
        return " <span class=\"muted\" title=\"polls at disconnected site \(site.name); as of its export at \(time(site.exportedAt))\">site \(site.name)</span>"
    }

    static func identity(_ host: HostState) -> String {
        let origin: String
        if host.source == .inventory {
            origin = "inventory: runs Microsoft's EM service; Get-ExchangeServer reports, sent with an API token, make its record"
        } else {
            origin = host.verified ? "verified: enrolled, its polls carry its credential" : "unverified: not enrolled, anyone could have sent what it reports"
        }
        guard let site = host.site else { return origin }
        return "site \(site.name): its signed check-in files make its record, the last exported at \(time(site.exportedAt)); there, \(origin)"
    }

    /// `why`: a rule's standing on each host, by host id, for a rule's host lists (a column more).
    static func hostTable(_ hosts: [HostState], staleSince: Date, catalog: BuildCatalog, why: [Int64: RuleStanding] = [:]) -> HTML {
        guard !hosts.isEmpty else { return "<p class=\"muted\" id=\"no-hosts\">No hosts.</p>" }
        let rows = HTML.join(hosts.map { host -> HTML in
            let stale = host.lastSeen < staleSince
            let reason: HTML = why.isEmpty ? .empty : "<td class=\"text\">\(why[host.id]?.reason ?? "")</td>"
            return """
                <tr><td class="nowrap"><a href="\(UILink.path("hosts", String(host.id)))">\(host.displayName)</a>\(verifiedMark(host))</td>\(reason)<td>\(host.latest.serverID)</td>\
                <td>\(host.latest.build)<div class="muted">\(buildName(host.latest.build, catalog))</div></td>\
                <td class="nowrap">\(time(host.lastSeen))\(staleMark(stale))</td>\
                <td class="text">\(host.latest.applied.joined(separator: ", "))</td><td class="text">\(host.latest.blocked.joined(separator: ", "))</td>\
                <td class="text">\(host.latest.userAgent)</td></tr>
                """
        })
        return """
            <table id="hosts"><thead><tr><th>Host</th>\(why.isEmpty ? "" : "<th>Why</th>")<th>serverId</th><th>Build</th><th>Last seen</th><th>Applied</th><th>Blocked</th><th>User-Agent</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }

    public static func host(
        _ host: HostState, standings: [RuleStanding] = [], history: [HostHistoryEntry], next: String?, staleSince: Date, catalog: BuildCatalog, viewer: Viewer
    ) -> HTML {
        let latest = host.latest
        func flag(_ value: Bool?) -> String { value.map { $0 ? "yes" : "no" } ?? "not reported" }
        let rows = HTML.join(history.map { entry -> HTML in
            let state = entry.state
            return """
                <tr><td>\(time(state.time))</td><td>\(state.serverName)</td><td>\(state.build)</td>\
                <td class="text">\(state.applied.joined(separator: ", "))</td><td class="text">\(state.blocked.joined(separator: ", "))</td>\
                <td>\(flag(state.mitigationsEnabled))</td><td class="text">\(state.userAgent)</td></tr>
                """
        })
        let nextLink = next.map { UILink.path("hosts", String(host.id), query: [("cursor", $0)]) }
        return layout(title: host.displayName, section: .hosts, viewer: viewer, """
            <h1>Host \(host.displayName)</h1>
            <p class="muted">\(identity(host)); build \(latest.build ?? "none") \(buildName(latest.build, catalog)); \
            last poll \(time(host.lastSeen))\(staleMark(host.lastSeen < staleSince))</p>
            <h2>Published rules on this host</h2>
            \(ruleStandings(standings))
            <h2>What it reports</h2>
            <dl class="facts" id="host-facts">
            <dt>Host id</dt><dd>\(host.id)</dd><dt>serverId</dt><dd>\(latest.serverID ?? "none")</dd>
            <dt>Identity</dt><dd id="host-verified">\(identity(host))</dd>
            <dt>Name</dt><dd>\(latest.serverName ?? "none")</dd><dt>Organization</dt><dd>\(latest.orgID ?? "none")</dd>
            <dt>Build</dt><dd>\(latest.build ?? "none") \(buildName(latest.build, catalog))</dd>
            <dt>Applied</dt><dd class="text">\(latest.applied.joined(separator: ", "))</dd><dt>Blocked</dt><dd class="text">\(latest.blocked.joined(separator: ", "))</dd>
            <dt>Mitigations enabled</dt><dd>\(flag(latest.mitigationsEnabled))</dd><dt>Data collection</dt><dd>\(flag(latest.dataCollectionEnabled))</dd>
            <dt>First seen</dt><dd>\(time(host.firstSeen))</dd>
            <dt>Last seen</dt><dd>\(time(host.lastSeen))\(staleMark(host.lastSeen < staleSince))</dd>
            <dt>Polls</dt><dd>\(host.pollCount)</dd><dt>Address</dt><dd>\(latest.remoteAddress)</dd>
            <dt>User-Agent</dt><dd class="text" id="host-user-agent">\(latest.userAgent)</dd>
            </dl>
            <h2>History of changes</h2>
            <table id="history"><thead><tr><th>Changed</th><th>Name</th><th>Build</th><th>Applied</th><th>Blocked</th><th>Mitigations</th><th>User-Agent</th></tr></thead><tbody>\(rows)</tbody></table>
            \(pager(nextLink))
            """)
    }

    // MARK: Audit

    public struct AuditQuery: Sendable {
        public var rule: String?
        public var actor: String?
        public var since: String?
        public var until: String?

        public init(rule: String? = nil, actor: String? = nil, since: String? = nil, until: String? = nil) {
            self.rule = rule
            self.actor = actor
            self.since = since
            self.until = until
        }
    }

    public static func audit(_ entries: [AuditEntry], query: AuditQuery, next: String?, viewer: Viewer, notice: HTML = .empty) -> HTML {
        let rows = HTML.join(entries.map { entry -> HTML in
            let rule: HTML = entry.ruleID.map { "<a href=\"\(UILink.path("rules", $0))\">\($0)</a>" } ?? ""
            return """
                <tr><td>\(time(entry.time))</td><td>\(entry.actor)</td><td>\(entry.action)</td><td>\(rule)</td>\
                <td class="num">\(entry.revision.map(String.init))</td><td class="text">\(entry.reason)</td><td>\(entry.remoteAddress)</td><td class="text">\(entry.outcome)</td></tr>
                """
        })
        let parameters: [(String, String?)] = [("rule", query.rule), ("actor", query.actor), ("since", query.since), ("until", query.until)]
        let nextLink = next.map { UILink.path("audit", query: parameters + [("cursor", $0)]) }
        return layout(title: "Audit", section: .audit, viewer: viewer, notice: notice, """
            <h1>Audit trail</h1><p class="muted">Newest first.</p>
            <form class="filters" method="get" action="\(UILink.path("audit"))">
            <label>Rule<input name="rule" value="\(query.rule)"></label>
            <label>Actor<input name="actor" value="\(query.actor)"></label>
            <label>Since<input name="since" value="\(query.since)" placeholder="2026-11-23T06:00:00Z"></label>
            <label>Until<input name="until" value="\(query.until)" placeholder="2026-11-24T06:00:00Z"></label>
            <button type="submit">Filter</button></form>
            <table id="audit"><thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Rule</th><th class="num">Revision</th><th>Reason</th><th>Address</th><th>Outcome</th></tr></thead>
            <tbody>\(rows)</tbody></table>\(pager(nextLink))
            """)
    }

    // MARK: Errors

    public static func error(title: String, message: String, viewer: Viewer?) -> HTML {
        layout(title: title, section: nil, viewer: viewer, "<h1>\(title)</h1>\(notice(message, error: true))<p><a href=\"\(UILink.root)\">Back to the overview</a></p>")
    }

    // MARK: Pieces

    static func pager(_ next: String?) -> HTML {
        next.map { "<p class=\"pager\"><a rel=\"next\" id=\"next-page\" href=\"\($0)\">Next page →</a></p>" } ?? ""
    }

    static func buildName(_ build: String?, _ catalog: BuildCatalog) -> String {
        build.flatMap { try? ExchangeBuild(parsing: $0) }.map(catalog.describe) ?? ""
    }

    static func time(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func duration(_ seconds: Int) -> String {
        seconds % 3600 == 0 ? "\(seconds / 3600) h" : seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds) s"
    }
}
