import Foundation
import OCSDomain

/// The fleet as counts: coverage of published rules and the fleet summary, aggregated by the
/// database (one pass over `hosts` per rule, grouped by build and coverage facts), never by
/// loading every host. The API and any other view of the fleet read it from here.
public struct FleetStore: Sendable {
    let database: any SQLDatabase
    /// The catalog compiled into the binary; each read adds the database's rows to it.
    let catalogBase: BuildCatalog

    public init(database: any SQLDatabase, catalog: BuildCatalog = .embedded) {
        self.database = database
        catalogBase = catalog
    }

    /// How many hosts are in each coverage state of `rule` (the revision the feed serves).
    /// Hosts that have not polled since `staleSince` are stale. `verifiedOnly` counts enrolled
    /// hosts alone: what a team can count as protected when anyone could have sent the rest.
    public func coverage(of rule: Mitigation, revision: Int, staleSince: Date, verifiedOnly: Bool = false) throws -> RuleCoverage {
        try database.read { db in
            try coverage(
                of: rule, revision: revision, staleSince: staleSince, catalog: CatalogStore.catalog(catalogBase, in: db), groups: nil,
                verifiedOnly: verifiedOnly, in: db
            )
        }
    }

    /// The condition `verifiedOnly` adds to a query of `hosts`.
    private static func hostFilter(verifiedOnly: Bool) -> String {
        verifiedOnly ? CheckInSQL.verified : "TRUE"
    }

    /// The hosts in one of `states` for `rule`, by id as `CheckInStore.hosts` lists them.
    /// `narrowed`: only those a narrowing took the rule from (`CoverageSelection.narrowed`).
    public func hosts(
        of rule: Mitigation, in states: Set<CoverageState>, narrowed: Bool = false, staleSince: Date, verifiedOnly: Bool = false, page: PageRequest = PageRequest()
    ) throws -> Page<HostState> {
        let rows = try database.read { db in
            let facts = try Self.factsCode(
                rule, staleSince: staleSince, hostsByBuild: Self.hostsByBuild(db), catalog: CatalogStore.catalog(catalogBase, in: db),
                audience: Self.audience(of: rule.id, in: db), in: db
            )
            let arguments: SQLArguments = [page.cursor?.key ?? 0]
            let narrowing: (sql: String, arguments: SQLArguments) = narrowed ? (Self.narrowedHost, [rule.id]) : ("TRUE", [])
            // The codes are JSON numbers, cast: PostgreSQL's elements are text.
            return try db.rows(
                """
                SELECT * FROM hosts WHERE id > ? AND \(Self.hostFilter(verifiedOnly: verifiedOnly))
                  AND \(facts.sql) IN (SELECT CAST(value AS BIGINT) FROM \(db.engine.jsonArrayElements("?"))) AND \(narrowing.sql) ORDER BY id LIMIT ?
                """,
                arguments + facts.arguments + [Self.jsonArray(CoverageFacts.codes(giving: states).map(String.init))] + narrowing.arguments + [page.limit + 1]
            ).map(HostState.init(row:))
        }
        return Page(reading: rows, limit: page.limit, kind: .hosts, key: \.id)
    }

    /// Hosts exposed to at least one of `rules` (published rules as served), by id: how many, and
    /// a page of them. One condition per rule, OR'ed: the rules are few, the hosts many.
    public func exposedHosts(to rules: [Mitigation], staleSince: Date, page: PageRequest = PageRequest()) throws -> (total: Int, page: Page<HostState>) {
        let (total, rows) = try database.read { db -> (Int, [HostState]) in
            guard !rules.isEmpty else { return (0, []) }
            let hostsByBuild = try Self.hostsByBuild(db)
            let catalog = try CatalogStore.catalog(catalogBase, in: db)
            let exposedCodes = Self.jsonArray(CoverageFacts.codes(giving: CoverageState.exposed).map(String.init))
            var conditions: [String] = []
            var arguments = SQLArguments([])
            var everyone = true
            for rule in rules {
                let audience = try Self.audience(of: rule.id, in: db)
                everyone = everyone && audience.isEveryone
                let facts = Self.factsCode(rule, staleSince: staleSince, hostsByBuild: hostsByBuild, catalog: catalog, audience: audience, in: db)
                conditions.append("\(facts.sql) IN (SELECT CAST(value AS BIGINT) FROM \(db.engine.jsonArrayElements("?")))")
                arguments = arguments + facts.arguments + [exposedCodes]
            }
            let exposed = "(" + conditions.joined(separator: " OR ") + ")"
            // Rules released to everyone are judged on the hosts grouped by their facts, as the
            // summary's coverage is (measured: 1,000,000 hosts counted by scanning with the OR
            // took 0.8 s); a staged rule depends on names, so then the hosts are scanned.
            let total = everyone
                ? Self.exposedCount(to: rules, groups: try Self.coverageGroups(db, staleSince: staleSince, verifiedOnly: false), catalog: catalog)
                : try db.value(Int.self, "SELECT COUNT(*) FROM hosts WHERE \(exposed)", arguments) ?? 0
            let rows = try db.rows(
                "SELECT * FROM hosts WHERE id > ? AND \(exposed) ORDER BY id LIMIT ?",
                SQLArguments([page.cursor?.key ?? 0]) + arguments + [page.limit + 1]
            ).map(HostState.init(row:))
            return (total, rows)
        }
        return (total, Page(reading: rows, limit: page.limit, kind: .hosts, key: \.id))
    }

    /// The fleet summary with the coverage of each of `rules` (published rules at their served
    /// revisions), read in one snapshot.
    public func summary(rules: [(rule: Mitigation, revision: Int)], staleSince: Date, staleAfterSeconds: Int) throws -> FleetSummary {
        try database.read { db in
            let hostsByBuild = try Self.hostsByBuild(db)
            let catalog = try CatalogStore.catalog(catalogBase, in: db)
            // Kept by triggers, as `CheckInStore.hostCount` reads it: one row however many hosts.
            let total = try db.value(Int.self, "SELECT hosts FROM host_count WHERE id = 1") ?? 0
            let stale = try db.value(Int.self, "SELECT COUNT(*) FROM hosts WHERE last_seen < ?", [DatabaseTimestamp(staleSince)]) ?? 0
            let verified = try db.value(Int.self, "SELECT COUNT(*) FROM hosts WHERE \(CheckInSQL.verified)") ?? 0
            let groups = try Self.coverageGroups(db, staleSince: staleSince, verifiedOnly: false)
            let coverage = try rules.map {
                try self.coverage(of: $0.rule, revision: $0.revision, staleSince: staleSince, catalog: catalog, groups: groups, verifiedOnly: false, in: db)
            }
            var summary = FleetSummary(
                total: total, stale: stale, hostsByBuild: hostsByBuild, rules: coverage,
                staleAfterSeconds: staleAfterSeconds, catalog: catalog
            )
            summary.hosts.verified = verified
            return summary
        }
    }

    /// A rule's coverage. A rule released to everyone is counted from the coverage groups (one
    /// pass over the hosts shared by every rule, `groups` when the caller read them already); one
    /// released to host groups depends on each host's identity, so it takes a pass of its own
    /// over the hosts that are in its audience.
    private func coverage(
        of rule: Mitigation, revision: Int, staleSince: Date, catalog: BuildCatalog, groups: [CoverageGroup]?, verifiedOnly: Bool, in db: any SQLTransaction
    ) throws -> RuleCoverage {
        let audience = try Self.audience(of: rule.id, in: db)
        var counts: CoverageCounts
        if audience.isEveryone {
            counts = Self.counts(of: rule, groups: try groups ?? Self.coverageGroups(db, staleSince: staleSince, verifiedOnly: verifiedOnly), catalog: catalog)
        } else {
            let facts = try Self.factsCode(rule, staleSince: staleSince, hostsByBuild: Self.hostsByBuild(db), catalog: catalog, audience: audience, in: db)
            let codes = try db.rows(
                "SELECT \(facts.sql) AS code, COUNT(*) AS hosts FROM hosts WHERE \(Self.hostFilter(verifiedOnly: verifiedOnly)) GROUP BY code",
                facts.arguments
            ).map { row in (code: try row["code"] as Int, hosts: try row["hosts"] as Int) }
            counts = CoverageCounts(hostsByFactsCode: codes)
        }
        counts.narrowed = try Self.narrowedCount(of: rule, staleSince: staleSince, catalog: catalog, audience: audience, verifiedOnly: verifiedOnly, in: db)
        return RuleCoverage(rule: rule.id, revision: revision, hosts: counts)
    }

    /// A host a narrowing took the rule (the argument) from: `rule_narrowings` keeps them.
    private static let narrowedHost = "id IN (SELECT host_id FROM rule_narrowings WHERE rule_id = ?)"

    /// How many hosts a narrowing took `rule` from that it still does not reach (not applicable
    /// now): `CoverageCounts.narrowed`. Most rules were never narrowed, and cost one index probe.
    private static func narrowedCount(
        of rule: Mitigation, staleSince: Date, catalog: BuildCatalog, audience: Audience, verifiedOnly: Bool, in db: any SQLTransaction
    ) throws -> Int {
        guard try db.value(Int.self, "SELECT 1 FROM rule_narrowings WHERE rule_id = ? LIMIT 1", [rule.id]) != nil else { return 0 }
        let facts = try factsCode(rule, staleSince: staleSince, hostsByBuild: hostsByBuild(db), catalog: catalog, audience: audience, in: db)
        return try db.value(
            Int.self,
            """
            SELECT COUNT(*) FROM hosts WHERE \(narrowedHost) AND \(hostFilter(verifiedOnly: verifiedOnly))
              AND \(facts.sql) IN (SELECT CAST(value AS BIGINT) FROM \(db.engine.jsonArrayElements("?")))
            """,
            SQLArguments([rule.id]) + facts.arguments + [jsonArray(CoverageFacts.codes(giving: [.notApplicable]).map(String.init))]
        ) ?? 0
    }

    /// Hosts that share everything coverage depends on: a build, the applied and blocked lists as
    /// stored, whether mitigations are enabled; `stale` of them have not polled since the cut-off.
    struct CoverageGroup {
        let build: String?
        let applied: String
        let blocked: String
        let mitigationsDisabled: Bool
        let stale: Int
        let hosts: Int
    }

    /// Every host in groups of equal coverage facts: one pass over `hosts_by_coverage_facts`
    /// (migration 0012) in index order, a few thousand rows however many hosts, shared by all
    /// the rules whose coverage is asked at once.
    static func coverageGroups(_ db: any SQLTransaction, staleSince: Date, verifiedOnly: Bool) throws -> [CoverageGroup] {
        try db.rows(
            """
            SELECT build, applied, blocked, \(mitigationsDisabled) AS disabled, SUM(CASE WHEN last_seen < ? THEN 1 ELSE 0 END) AS stale, COUNT(*) AS hosts
            FROM \(db.engine.table("hosts", indexedBy: "hosts_by_coverage_facts")) WHERE \(hostFilter(verifiedOnly: verifiedOnly))
            GROUP BY build, applied, blocked, mitigations_enabled
            """,
            [DatabaseTimestamp(staleSince)]
        ).map { row in
            CoverageGroup(
                build: try row["build"], applied: try row["applied"], blocked: try row["blocked"], mitigationsDisabled: try row["disabled"],
                stale: try row["stale"], hosts: try row["hosts"]
            )
        }
    }

    /// 1 when a host reported mitigations disabled, else 0 (NULL, never reported, counts as enabled).
    private static let mitigationsDisabled = "(CASE WHEN mitigations_enabled = 0 THEN 1 ELSE 0 END)"

    /// A rule's counts from the groups: each group's facts give its `CoverageFacts.code`, as
    /// `factsCode` computes it in SQL for single hosts (applied and blocked found by quoted id).
    private static func counts(of rule: Mitigation, groups: [CoverageGroup], catalog: BuildCatalog) -> CoverageCounts {
        let quoted = "\"\(rule.id)\""
        var scopes: [String: CoverageFacts.Scope] = [:]
        var hostsByCode: [Int: Int] = [:]
        for group in groups {
            let scope: CoverageFacts.Scope
            if let build = group.build {
                if let known = scopes[build] {
                    scope = known
                } else {
                    scope = CoverageFacts.scope(of: rule, build: build, catalog: catalog)
                    scopes[build] = scope
                }
            } else {
                scope = .unknownBuild
            }
            let code = scope.rawValue * 16 + (group.blocked.contains(quoted) ? 4 : 0) + (group.applied.contains(quoted) ? 2 : 0) + (group.mitigationsDisabled ? 1 : 0)
            hostsByCode[code + 8, default: 0] += group.stale
            hostsByCode[code, default: 0] += group.hosts - group.stale
        }
        return CoverageCounts(hostsByFactsCode: hostsByCode.filter { $0.value > 0 }.map { (code: $0.key, hosts: $0.value) })
    }

    /// How many hosts of `groups` are exposed to at least one of `rules`, all released to everyone:
    /// a group's stale hosts when a rule applies to its build, its others when a rule's facts
    /// give an exposed state (the same codes `counts(of:groups:catalog:)` counts).
    static func exposedCount(to rules: [Mitigation], groups: [CoverageGroup], catalog: BuildCatalog) -> Int {
        var scopes: [String: [CoverageFacts.Scope]] = [:]
        var total = 0
        for group in groups {
            let ruleScopes: [CoverageFacts.Scope]
            if let build = group.build {
                ruleScopes = scopes[build] ?? rules.map { CoverageFacts.scope(of: $0, build: build, catalog: catalog) }
                scopes[build] = ruleScopes
            } else {
                ruleScopes = rules.map { _ in .unknownBuild }
            }
            var staleExposed = false, freshExposed = false
            for (rule, scope) in zip(rules, ruleScopes) where scope == .inScope {
                let quoted = "\"\(rule.id)\""
                staleExposed = true
                let facts = CoverageFacts(
                    scope: scope, isStale: false, reportsBlocked: group.blocked.contains(quoted), reportsApplied: group.applied.contains(quoted),
                    mitigationsDisabled: group.mitigationsDisabled
                )
                if CoverageState.exposed.contains(facts.state) { freshExposed = true }
            }
            total += (staleExposed ? group.stale : 0) + (freshExposed ? group.hosts - group.stale : 0)
        }
        return total
    }

    /// Hosts per reported build, of the builds `rule` applies to.
    public func hostsByBuild(appliedTo rule: Mitigation) throws -> [(build: String, hosts: Int)] {
        let (hostsByBuild, catalog) = try database.read { db in (try Self.hostsByBuild(db), try CatalogStore.catalog(catalogBase, in: db)) }
        return hostsByBuild.filter { CoverageFacts.scope(of: rule, build: $0.build, catalog: catalog) == .inScope }
    }

    /// The hosts that report `before.rule` applied and are served it now, but would not be served
    /// `after` (another revision, another release): publishing `after` makes their agents remove
    /// it. Both served sets are read as coverage reads them: builds in scope, and the audience.
    /// `after` nil: the rule is retired, served to nobody. Read once, counted and recorded with it.
    struct LosingHosts {
        let ruleID: String
        let condition: (sql: String, arguments: SQLArguments)

        /// How many.
        func count(in db: any SQLTransaction) throws -> Int {
            try db.value(Int.self, "SELECT COUNT(*) FROM hosts WHERE \(condition.sql)", condition.arguments) ?? 0
        }

        /// Records them as narrowed (`rule_narrowings`), before the change is applied: the
        /// narrowing's time, the revision it serves and its reason. A host narrowed before keeps
        /// one row, of this narrowing.
        func recordNarrowing(revision: Int, reason: String?, time: Date, in db: any SQLTransaction) throws {
            _ = try db.execute(
                """
                INSERT INTO rule_narrowings (rule_id, host_id, narrowed_at, revision, reason)
                SELECT ?, id, ?, ?, ? FROM hosts WHERE \(condition.sql)
                ON CONFLICT (rule_id, host_id) DO UPDATE SET
                    narrowed_at = excluded.narrowed_at, revision = excluded.revision, reason = excluded.reason
                """,
                SQLArguments([ruleID, DatabaseTimestamp(time), revision, reason]) + condition.arguments
            )
        }
    }

    static func hostsLosing(
        _ id: String, before: (rule: Mitigation, release: Release), after: (rule: Mitigation, release: Release)?, catalog: BuildCatalog, in db: any SQLTransaction
    ) throws -> LosingHosts {
        LosingHosts(ruleID: id, condition: try losingCondition(id, before: before, after: after, catalog: catalog, in: db))
    }

    /// The condition on `hosts` of `LosingHosts`, with its arguments.
    private static func losingCondition(
        _ id: String, before: (rule: Mitigation, release: Release), after: (rule: Mitigation, release: Release)?, catalog: BuildCatalog, in db: any SQLTransaction
    ) throws -> (sql: String, arguments: SQLArguments) {
        let builds = try hostsByBuild(db).map(\.build)
        func served(_ rule: Mitigation, _ release: Release) throws -> (sql: String, arguments: SQLArguments) {
            let inScope = builds.filter { CoverageFacts.scope(of: rule, build: $0, catalog: catalog) == .inScope }
            let audience = try audience(of: release, in: db)
            return ("(build IN (SELECT value FROM \(db.engine.jsonArrayElements("?"))) AND \(audience.sql))",
                    [jsonArray(inScope.map { "\"\($0)\"" })] + audience.arguments)
        }
        let was = try served(before.rule, before.release)
        let will = try after.map { try served($0.rule, $0.release) } ?? (sql: "FALSE", arguments: [])
        return (
            // An audience term on a NULL name or org is NULL, not false: NOT NULL would drop the
            // host, which the feed stops serving all the same (`HostGroup.contains` is false).
            "\(db.engine.position(of: "?", in: "applied")) > 0 AND \(was.sql) AND NOT COALESCE(\(will.sql), FALSE)",
            SQLArguments(["\"\(id)\""]) + was.arguments + will.arguments
        )
    }

    /// The narrowings recorded for one host, by rule id (see `LosingHosts.recordNarrowing`).
    public func narrowings(ofHost hostID: Int64) throws -> [String: RuleNarrowing] {
        try database.read { db in
            let rows = try db.rows("SELECT * FROM rule_narrowings WHERE host_id = ?", [hostID])
            return Dictionary(try rows.map { row in
                let narrowing = try Self.narrowing(row)
                return (narrowing.rule, narrowing)
            }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The narrowings of one rule recorded for `hostIDs`, by host id.
    public func narrowings(of ruleID: String, hosts hostIDs: [Int64]) throws -> [Int64: RuleNarrowing] {
        guard !hostIDs.isEmpty else { return [:] }
        return try database.read { db in
            let rows = try db.rows(
                "SELECT * FROM rule_narrowings WHERE rule_id = ? AND host_id IN (SELECT CAST(value AS BIGINT) FROM \(db.engine.jsonArrayElements("?")))",
                [ruleID, Self.jsonArray(hostIDs.map(String.init))]
            )
            return Dictionary(try rows.map { row in
                let narrowing = try Self.narrowing(row)
                return (narrowing.hostID, narrowing)
            }, uniquingKeysWith: { first, _ in first })
        }
    }

    private static func narrowing(_ row: SQLRow) throws -> RuleNarrowing {
        RuleNarrowing(
            rule: try row["rule_id"], hostID: try row["host_id"], time: try row["narrowed_at"],
            revision: try row["revision"], reason: try row["reason"]
        )
    }

    /// Every reported build with its hosts, a page at a time in the order of the builds' text
    /// (anyone may poll with a build of their own: the overview lists the 100 with most hosts).
    public func builds(page: PageRequest = PageRequest()) throws -> Page<FleetSummary.BuildCount> {
        let (rows, catalog) = try database.read { db in
            (
                try db.rows(
                    "SELECT build, COUNT(*) AS hosts FROM hosts WHERE build IS NOT NULL AND build > ? GROUP BY build ORDER BY build LIMIT ?",
                    [page.cursor?.text ?? "", page.limit + 1]
                ).map { row in (build: try row["build"] as String, hosts: try row["hosts"] as Int) },
                try CatalogStore.catalog(catalogBase, in: db)
            )
        }
        return Page(reading: rows, limit: page.limit, kind: .hostBuilds, text: \.build)
            .map { FleetSummary.BuildCount(text: $0.build, hosts: $0.hosts, catalog: catalog) }
    }

    /// Hosts per reported build: a few hundred rows however large the fleet, read from an index.
    static func hostsByBuild(_ db: any SQLTransaction) throws -> [(build: String, hosts: Int)] {
        try db.rows("SELECT build, COUNT(*) AS hosts FROM hosts WHERE build IS NOT NULL GROUP BY build")
            .map { row in (build: try row["build"] as String, hosts: try row["hosts"] as Int) }
    }

    /// A host's `CoverageFacts.code` for one rule, in SQL, with its arguments in order. Which
    /// builds the rule applies to is decided here, by the domain, for each distinct build; a rule
    /// released to groups is in scope only on their hosts (`audience`); applied and blocked are
    /// found in the stored id lists by their quoted form (see `CheckInStore.json`).
    private static func factsCode(
        _ rule: Mitigation, staleSince: Date, hostsByBuild: [(build: String, hosts: Int)], catalog: BuildCatalog, audience: Audience, in db: any SQLTransaction
    ) -> (sql: String, arguments: SQLArguments) {
        let inScope = hostsByBuild.map(\.build).filter { CoverageFacts.scope(of: rule, build: $0, catalog: catalog) == .inScope }
        let quotedRule = "\"\(rule.id)\""
        let sql = """
            ((CASE WHEN build IS NULL THEN \(CoverageFacts.Scope.unknownBuild.rawValue)
                   WHEN build IN (SELECT value FROM \(db.engine.jsonArrayElements("?"))) AND \(audience.sql) THEN \(CoverageFacts.Scope.inScope.rawValue)
                   ELSE \(CoverageFacts.Scope.outOfScope.rawValue) END) * 16
             + (CASE WHEN last_seen < ? THEN 8 ELSE 0 END)
             + (CASE WHEN \(db.engine.position(of: "?", in: "blocked")) > 0 THEN 4 ELSE 0 END)
             + (CASE WHEN \(db.engine.position(of: "?", in: "applied")) > 0 THEN 2 ELSE 0 END)
             + \(mitigationsDisabled))
            """
        let inScopeBuilds: SQLArguments = [jsonArray(inScope.map { "\"\($0)\"" })]
        return (sql, inScopeBuilds + audience.arguments + [DatabaseTimestamp(staleSince), quotedRule, quotedRule])
    }

    /// Which hosts a published rule is served to, as an SQL condition on `hosts` with its
    /// arguments: `TRUE` for everyone; for groups, what `HostGroup.contains` decides for a poll, on
    /// the host's last reported serverId, name and org. Name patterns hold only letters, digits,
    /// `.-_*?` (`NamePattern.isValid`), so as LIKE patterns (`likePattern`) on lower-cased text
    /// they match as they do.
    static func audience(of ruleID: String, in db: any SQLTransaction) throws -> Audience {
        let stored = try db.value(String.self, "SELECT release_groups FROM rules WHERE id = ? AND state = 'published'", [ruleID])
        return try audience(of: try RuleStore.release(stored, id: ruleID), in: db)
    }

    /// The hosts `release` serves, as an SQL condition on `hosts` (see `audience(of:in:)`).
    static func audience(of release: Release, in db: any SQLTransaction) throws -> Audience {
        guard case .groups(let names) = release else { return Audience(sql: "TRUE", arguments: []) }
        let groups = try HostGroupStore.all(db).filter { names.contains($0.name) }
        let elements = db.engine.jsonArrayElements("?")
        var conditions: [String] = []
        var arguments: [(any SQLValueConvertible)?] = []
        for group in groups {
            switch group.selector {
            case .hosts(let members):
                let lowered = String(decoding: try JSONSerialization.data(withJSONObject: members.map { $0.lowercased() }), as: UTF8.self)
                arguments += [lowered, lowered]
                conditions.append("(server_id IN (SELECT value FROM \(elements)) OR lower(server_name) IN (SELECT value FROM \(elements)))")
            case .names(let patterns):
                // One JSON array a group: an OR term per pattern would pass SQLite's expression
                // depth limit (1000) with a group of many patterns.
                arguments.append(String(decoding: try JSONSerialization.data(withJSONObject: patterns.map { likePattern($0.lowercased()) }), as: UTF8.self))
                conditions.append("EXISTS (SELECT 1 FROM \(elements) WHERE lower(server_name) LIKE value ESCAPE '!')")
            case .org(let guid):
                arguments.append(guid)
                conditions.append("org_id = ?")
            }
        }
        return Audience(sql: conditions.isEmpty ? "FALSE" : "(" + conditions.joined(separator: " OR ") + ")", arguments: SQLArguments(arguments))
    }

    /// A name pattern as a LIKE pattern escaped by `!`: `*` any run of characters, `?` one
    /// character, `_` itself. (LIKE ignores ASCII case on SQLite only: both sides are lower-cased.)
    static func likePattern(_ pattern: String) -> String {
        var like = ""
        for character in pattern {
            switch character {
            case "*": like.append("%")
            case "?": like.append("_")
            case "_", "%", "!": like.append("!"); like.append(character)
            default: like.append(character)
            }
        }
        return like
    }

    /// The hosts a rule is served to, as an SQL condition on `hosts` and its arguments.
    struct Audience {
        let sql: String
        let arguments: SQLArguments
        /// Released to everyone: every host is in the audience.
        var isEveryone: Bool { sql == "TRUE" }
    }

    /// `[a,b]` from elements already in JSON form (numbers, or builds quoted: digits and dots).
    private static func jsonArray(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ",") + "]"
    }
}
