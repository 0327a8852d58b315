import Foundation
import GRDB
import OCSDomain

/// The fleet as counts: coverage of published rules and the fleet summary, aggregated by SQLite
/// (one pass over `hosts` per rule, grouped by build and coverage facts), never by loading every
/// host. The API and any other view of the fleet read it from here.
public struct FleetStore: Sendable {
    let database: OCSDatabase
    /// The catalog compiled into the binary; each read adds the database's rows to it.
    let catalogBase: BuildCatalog

    public init(database: OCSDatabase, catalog: BuildCatalog = .embedded) {
        self.database = database
        catalogBase = catalog
    }

    /// How many hosts are in each coverage state of `rule` (the revision the feed serves).
    /// Hosts that have not polled since `staleSince` are stale. `verifiedOnly` counts enrolled
    /// hosts alone: what a team can count as protected when anyone could have sent the rest.
    public func coverage(of rule: Mitigation, revision: Int, staleSince: Date, verifiedOnly: Bool = false) throws -> RuleCoverage {
        try database.writer.read { db in
            try coverage(
                of: rule, revision: revision, staleSince: staleSince, catalog: CatalogStore.catalog(catalogBase, in: db), groups: nil,
                verifiedOnly: verifiedOnly, in: db
            )
        }
    }

    /// The condition `verifiedOnly` adds to a query of `hosts`.
    private static func hostFilter(verifiedOnly: Bool) -> String {
        verifiedOnly ? "credential_hash IS NOT NULL" : "1"
    }

    /// The hosts in one of `states` for `rule`, by id as `CheckInStore.hosts` lists them.
    public func hosts(of rule: Mitigation, in states: Set<CoverageState>, staleSince: Date, verifiedOnly: Bool = false, page: PageRequest = PageRequest()) throws -> Page<HostState> {
        let rows = try database.writer.read { db in
            let facts = try factsArguments(rule, staleSince: staleSince, hostsByBuild: Self.hostsByBuild(db), catalog: CatalogStore.catalog(catalogBase, in: db))
            let audience = try Self.audience(of: rule.id, in: db)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM hosts WHERE id > :after AND \(Self.hostFilter(verifiedOnly: verifiedOnly))
                      AND \(Self.factsCode(audience.sql)) IN (SELECT value FROM json_each(:codes)) ORDER BY id LIMIT :limit
                    """,
                arguments: facts + audience.arguments + [
                    "after": page.cursor?.key ?? 0, "limit": page.limit + 1,
                    "codes": Self.jsonArray(CoverageFacts.codes(giving: states).map(String.init)),
                ]
            ).map(CheckInStore.host)
        }
        return Page(reading: rows, limit: page.limit, kind: .hosts, key: \.id)
    }

    /// The fleet summary with the coverage of each of `rules` (published rules at their served
    /// revisions), read in one snapshot.
    public func summary(rules: [(rule: Mitigation, revision: Int)], staleSince: Date, staleAfterSeconds: Int) throws -> FleetSummary {
        try database.writer.read { db in
            let hostsByBuild = try Self.hostsByBuild(db)
            let catalog = try CatalogStore.catalog(catalogBase, in: db)
            let total = try CheckInStore.hostCount(db)
            let stale = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hosts WHERE last_seen < ?", arguments: [DatabaseTimestamp(staleSince)]) ?? 0
            let verified = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hosts WHERE credential_hash IS NOT NULL") ?? 0
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
        of rule: Mitigation, revision: Int, staleSince: Date, catalog: BuildCatalog, groups: [CoverageGroup]?, verifiedOnly: Bool, in db: Database
    ) throws -> RuleCoverage {
        let audience = try Self.audience(of: rule.id, in: db)
        guard audience.isEveryone else {
            let counts = try Row.fetchAll(
                db, sql: "SELECT \(Self.factsCode(audience.sql)) AS code, COUNT(*) AS hosts FROM hosts WHERE \(Self.hostFilter(verifiedOnly: verifiedOnly)) GROUP BY code",
                arguments: factsArguments(rule, staleSince: staleSince, hostsByBuild: Self.hostsByBuild(db), catalog: catalog) + audience.arguments
            ).map { (code: $0["code"] as Int, hosts: $0["hosts"] as Int) }
            return RuleCoverage(rule: rule.id, revision: revision, hosts: CoverageCounts(hostsByFactsCode: counts))
        }
        return coverage(of: rule, revision: revision, groups: try groups ?? Self.coverageGroups(db, staleSince: staleSince, verifiedOnly: verifiedOnly), catalog: catalog)
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
    static func coverageGroups(_ db: Database, staleSince: Date, verifiedOnly: Bool) throws -> [CoverageGroup] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT build, applied, blocked, mitigations_enabled IS 0 AS disabled, SUM(last_seen < ?) AS stale, COUNT(*) AS hosts
                FROM hosts INDEXED BY hosts_by_coverage_facts WHERE \(hostFilter(verifiedOnly: verifiedOnly))
                GROUP BY build, applied, blocked, mitigations_enabled
                """),
            arguments: [DatabaseTimestamp(staleSince)]
        ).map {
            CoverageGroup(build: $0["build"], applied: $0["applied"], blocked: $0["blocked"], mitigationsDisabled: $0["disabled"], stale: $0["stale"], hosts: $0["hosts"])
        }
    }

    /// A rule's coverage from the groups: each group's facts give its `CoverageFacts.code`, as
    /// `factsCode` computes it in SQL for single hosts (applied and blocked found by quoted id).
    private func coverage(of rule: Mitigation, revision: Int, groups: [CoverageGroup], catalog: BuildCatalog) -> RuleCoverage {
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
        let counts = hostsByCode.filter { $0.value > 0 }.map { (code: $0.key, hosts: $0.value) }
        return RuleCoverage(rule: rule.id, revision: revision, hosts: CoverageCounts(hostsByFactsCode: counts))
    }

    /// Hosts per reported build, of the builds `rule` applies to.
    public func hostsByBuild(appliedTo rule: Mitigation) throws -> [(build: String, hosts: Int)] {
        let (hostsByBuild, catalog) = try database.writer.read { db in (try Self.hostsByBuild(db), try CatalogStore.catalog(catalogBase, in: db)) }
        return hostsByBuild.filter { CoverageFacts.scope(of: rule, build: $0.build, catalog: catalog) == .inScope }
    }

    /// Hosts per reported build: a few hundred rows however large the fleet, read from an index.
    static func hostsByBuild(_ db: Database) throws -> [(build: String, hosts: Int)] {
        try Row.fetchAll(db, sql: "SELECT build, COUNT(*) AS hosts FROM hosts WHERE build IS NOT NULL GROUP BY build")
            .map { (build: $0["build"], hosts: $0["hosts"]) }
    }

    /// A host's `CoverageFacts.code` for one rule, in SQL. Which builds the rule applies to is
    /// decided here, by the domain, for each distinct build (`:inScopeBuilds`); a rule released to
    /// groups is in scope only on their hosts (`audience`); applied and blocked are found in the
    /// stored id lists by their quoted form (see `CheckInStore.json`).
    private static func factsCode(_ audience: String) -> String {
        """
        ((CASE WHEN build IS NULL THEN \(CoverageFacts.Scope.unknownBuild.rawValue)
               WHEN build IN (SELECT value FROM json_each(:inScopeBuilds)) AND \(audience) THEN \(CoverageFacts.Scope.inScope.rawValue)
               ELSE \(CoverageFacts.Scope.outOfScope.rawValue) END) * 16
         + (last_seen < :staleSince) * 8
         + (instr(blocked, :quotedRule) > 0) * 4
         + (instr(applied, :quotedRule) > 0) * 2
         + (mitigations_enabled IS 0))
        """
    }

    /// Which hosts a published rule is served to, as an SQL condition on `hosts` with its
    /// arguments: `1` for everyone; for groups, what `HostGroup.contains` decides for a poll, on
    /// the host's last reported serverId, name and org. Name patterns hold only letters, digits,
    /// `.-_*?` (`NamePattern.isValid`), so SQLite's GLOB on lower-cased text matches as they do.
    static func audience(of ruleID: String, in db: Database) throws -> Audience {
        let stored = try String?.fetchOne(db, sql: "SELECT release_groups FROM rules WHERE id = ? AND state = 'published'", arguments: [ruleID]) ?? nil
        guard case .groups(let names) = try RuleStore.release(stored, id: ruleID) else { return Audience(sql: "1", arguments: [:]) }
        let groups = try HostGroupStore.all(db).filter { names.contains($0.name) }
        var conditions: [String] = []
        var arguments: [String: (any DatabaseValueConvertible)?] = [:]
        for (index, group) in groups.enumerated() {
            let key = "audience\(index)"
            switch group.selector {
            case .hosts(let members):
                arguments[key] = String(decoding: try JSONSerialization.data(withJSONObject: members.map { $0.lowercased() }), as: UTF8.self)
                conditions.append("(server_id IN (SELECT value FROM json_each(:\(key))) OR lower(server_name) IN (SELECT value FROM json_each(:\(key))))")
            case .names(let patterns):
                // One JSON array a group: an OR term per pattern would pass SQLite's expression
                // depth limit (1000) with a group of many patterns.
                arguments[key] = String(decoding: try JSONSerialization.data(withJSONObject: patterns.map { $0.lowercased() }), as: UTF8.self)
                conditions.append("EXISTS (SELECT 1 FROM json_each(:\(key)) WHERE lower(server_name) GLOB value)")
            case .org(let guid):
                arguments[key] = guid
                conditions.append("org_id = :\(key)")
            }
        }
        return Audience(sql: conditions.isEmpty ? "0" : "(" + conditions.joined(separator: " OR ") + ")", arguments: StatementArguments(arguments))
    }

    /// The hosts a rule is served to, as an SQL condition on `hosts` and its arguments.
    struct Audience {
        let sql: String
        let arguments: StatementArguments
        /// Released to everyone: every host is in the audience.
        var isEveryone: Bool { sql == "1" }
    }

    private func factsArguments(_ rule: Mitigation, staleSince: Date, hostsByBuild: [(build: String, hosts: Int)], catalog: BuildCatalog) -> StatementArguments {
        let inScope = hostsByBuild.map(\.build).filter { CoverageFacts.scope(of: rule, build: $0, catalog: catalog) == .inScope }
        return [
            "inScopeBuilds": Self.jsonArray(inScope.map { "\"\($0)\"" }),
            "staleSince": DatabaseTimestamp(staleSince),
            "quotedRule": "\"\(rule.id)\"",
        ]
    }

    /// `[a,b]` from elements already in JSON form (numbers, or builds quoted: digits and dots).
    private static func jsonArray(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ",") + "]"
    }
}
