import Foundation
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

/// Coverage as SQLite counts it agrees with the domain's decision, host by host.
struct FleetStoreTests {
    /// M1 as shipped: Exchange 2016 and 2019 until Oct22SU.
    static let m1 = Mitigation(
        id: "M1", description: "d", state: .published,
        applies: Applicability(products: [.exchange2016, .exchange2019], narrowing: .fixedBy("Oct22SU")),
        actions: [.doNothing(description: nil)]
    )

    static func poll(_ name: String, build: String?, applied: [String] = [], blocked: [String] = [], enabled: Bool? = true, at seconds: TimeInterval) -> CheckIn {
        CheckIn(
            serverID: nil, serverName: name, build: build, orgID: nil, applied: applied, blocked: blocked,
            mitigationsEnabled: enabled, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil,
            time: Date(timeIntervalSince1970: 1_800_000_000 + seconds)
        )
    }

    @Test func countsAndListsEveryStateInOrder() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        let exposed = "15.2.1118.7"  // 2019 CU12 before Oct22SU
        try store.record([
            Self.poll("unknown", build: nil, applied: ["M1"], at: 1000),
            Self.poll("fixed", build: "15.2.1118.15", applied: ["M1"], at: 1000),
            Self.poll("se", build: "15.2.2562.17", at: 1000),
            Self.poll("stale", build: exposed, blocked: ["M1"], at: 0),
            Self.poll("blocked", build: exposed, applied: ["M1"], blocked: ["M1"], at: 1000),
            Self.poll("applied", build: exposed, applied: ["PING1", "M1"], enabled: false, at: 1000),
            Self.poll("disabled", build: "15.1.2507.6", applied: ["M10"], enabled: false, at: 1000),
            Self.poll("pending", build: exposed, applied: ["M1.1"], enabled: nil, at: 1000),
        ])
        let fleet = FleetStore(database: temporary.database)
        let staleSince = Date(timeIntervalSince1970: 1_800_000_500)
        let coverage = try fleet.coverage(of: Self.m1, revision: 3, staleSince: staleSince)
        #expect(coverage.rule == "M1")
        #expect(coverage.revision == 3)
        var expected = CoverageCounts()
        for state in CoverageState.allCases where state != .notApplicable { expected.add(state) }
        expected.add(.notApplicable, hosts: 2)
        #expect(coverage.hosts == expected)
        #expect(coverage.hosts.inScope == 5)
        #expect(coverage.hosts.exposed == 4)
        for state in CoverageState.allCases {
            let names = try fleet.hosts(of: Self.m1, in: [state], staleSince: staleSince).items.map(\.displayName)
            #expect(names == (state == .notApplicable ? ["fixed", "se"] : [state.rawValue]), "\(state)")
        }
        let exposedHosts = try fleet.hosts(of: Self.m1, in: CoverageState.exposed, staleSince: staleSince, page: PageRequest(limit: 2))
        #expect(exposedHosts.items.map(\.displayName) == ["stale", "blocked"])
        let rest = try fleet.hosts(of: Self.m1, in: CoverageState.exposed, staleSince: staleSince, page: PageRequest(limit: 2, cursor: exposedHosts.next))
        #expect(rest.items.map(\.displayName) == ["disabled", "pending"])
        #expect(rest.next == nil)
    }

    @Test func summarizesTheFleetFromCounts() throws {
        let temporary = try TestDatabase()
        try CheckInStore(database: temporary.database).record([
            Self.poll("a", build: "15.2.1118.7", at: 0),
            Self.poll("b", build: "15.2.1118.7", at: 1000),
            Self.poll("c", build: "15.1.2507.6", at: 1000),
            Self.poll("d", build: nil, at: 1000),
        ])
        let summary = try FleetStore(database: temporary.database).summary(
            rules: [(Self.m1, 1)], staleSince: Date(timeIntervalSince1970: 1_800_000_500), staleAfterSeconds: 500
        )
        #expect(summary.hosts == FleetSummary.Hosts(total: 4, stale: 1, unknownBuild: 1, notOnNewestUpdate: 3))
        #expect(summary.products.map { "\($0.product.rawValue) \($0.hosts)" } == ["Exchange2016 1", "Exchange2019 2"])
        #expect(summary.builds.map { "\($0.build) \($0.hosts)" } == ["15.1.2507.6 1", "15.2.1118.7 2"])
        #expect(summary.rules.map(\.hosts.inScope) == [3])
        #expect(summary.rules.map(\.hosts.stale) == [1])
    }

    /// The attack: a rule released to a group of 1,000 name patterns. One OR term a pattern
    /// passed SQLite's expression depth limit and failed every coverage and fleet read.
    @Test func aRuleReleasedToAGroupOfManyPatternsIsCounted() throws {
        let temporary = try TestDatabase()
        let context = ChangeContext(actor: "test")
        try CheckInStore(database: temporary.database).record([
            Self.poll("lab-0999", build: "15.2.1118.7", at: 1000),
            Self.poll("prod-1", build: "15.2.1118.7", at: 1000),
        ])
        let patterns = (0..<HostGroup.maximumMembers).map { "LAB-\($0)*" }
        try HostGroupStore(database: temporary.database).create(name: "many", selector: .names(patterns), context: context)
        let rules = RuleStore(database: temporary.database)
        var rule = Self.m1
        rule.state = .draft
        try rules.put(rule, context: context)
        try rules.publish(id: "M1", to: .to(["many"]), context: context)
        let fleet = FleetStore(database: temporary.database)
        let coverage = try fleet.coverage(of: Self.m1, revision: 1, staleSince: Date(timeIntervalSince1970: 1_800_000_500))
        #expect(coverage.hosts.inScope == 1, "lab-0999 only: prod-1 is not in the group")
        let summary = try fleet.summary(rules: [(Self.m1, 1)], staleSince: Date(timeIntervalSince1970: 1_800_000_500), staleAfterSeconds: 3600)
        #expect(summary.rules.first?.hosts.inScope == 1)
    }

    /// Name patterns select in SQL the hosts `HostGroup.contains` puts in the group: `_` only
    /// itself, `?` one character, `*` any run, in any case.
    @Test func namePatternsSelectTheHostsTheDomainDoes() throws {
        let temporary = try TestDatabase()
        let context = ChangeContext(actor: "test")
        let names = ["ex19_lab1", "EX19XLAB1", "ex19_lab", "ex19_lab12", "EX19-LAB-7", "ex19-", "prod"]
        try CheckInStore(database: temporary.database).record(names.enumerated().map { Self.poll($1, build: "15.2.1118.7", at: 1000 + Double($0)) })
        let group = try HostGroup(name: "lab", selector: .names(["EX19_LAB?", "ex19-*"]))
        try HostGroupStore(database: temporary.database).create(name: group.name, selector: group.selector, context: context)
        let rules = RuleStore(database: temporary.database)
        var rule = Self.m1
        rule.state = .draft
        try rules.put(rule, context: context)
        try rules.publish(id: "M1", to: .to([group.name]), context: context)
        let expected = names.filter { group.contains(PollingHost(name: $0)) }
        #expect(expected == ["ex19_lab1", "EX19-LAB-7", "ex19-"])
        let fleet = FleetStore(database: temporary.database)
        let staleSince = Date(timeIntervalSince1970: 1_800_000_500)
        #expect(try fleet.hosts(of: Self.m1, in: CoverageState.inScope, staleSince: staleSince).items.map(\.displayName) == expected)
        #expect(try fleet.coverage(of: Self.m1, revision: 1, staleSince: staleSince).hosts.inScope == expected.count)
    }

    /// M1 published to everyone, and a group `canary` of the hosts named canary-*: a release to
    /// the group narrows M1 to them.
    static func publishM1WithACanaryGroup(_ temporary: TestDatabase, _ context: ChangeContext) throws -> RuleStore {
        try HostGroupStore(database: temporary.database).create(name: "canary", selector: .names(["canary-*"]), context: context)
        let rules = RuleStore(database: temporary.database)
        var rule = Self.m1
        rule.state = .draft
        try rules.put(rule, context: context)
        try rules.publish(id: "M1", to: .everyone, context: context)
        return rules
    }

    /// A publish that takes the rule from hosts that have it applied is refused, naming how many,
    /// unless asked to narrow: a narrower release, or a rollback to a revision for fewer builds.
    /// Under approval the submitter must ask; the approver then allows it.
    @Test func aPublishThatTakesTheRuleFromHostsThatHaveItIsRefusedUnlessNarrowing() throws {
        let temporary = try TestDatabase()
        let context = ChangeContext(actor: "test", reason: "INC-7")
        try CheckInStore(database: temporary.database).record([
            Self.poll("canary-1", build: "15.2.1118.7", applied: ["M1"], at: 1000),
            Self.poll("prod-1", build: "15.2.1118.7", applied: ["M1"], at: 1000),
            Self.poll("prod-2", build: "15.1.2507.6", applied: ["M1"], at: 1000),
            Self.poll("prod-3", build: "15.2.1118.7", at: 1000),
        ])
        let rules = try Self.publishM1WithACanaryGroup(temporary, context)
        let serial = try rules.serial()

        // To canary only: prod-1 and prod-2 have it and would remove it; prod-3 never applied it.
        #expect(throws: RuleChangeError.narrowing(id: "M1", hosts: 2)) { try rules.publish(id: "M1", to: .to(["canary"]), context: context) }
        #expect(try rules.serial() == serial && rules.record(id: "M1")?.release == .everyone)
        // A revision for Exchange 2019 only: prod-2 (2016) would remove it.
        var only2019 = Self.m1
        only2019.state = .draft
        only2019.applies = Applicability(products: [.exchange2019], narrowing: .fixedBy("Oct22SU"))
        try rules.put(only2019, context: context)
        #expect(throws: RuleChangeError.narrowing(id: "M1", hosts: 1)) { try rules.publish(id: "M1", context: context) }
        // Asked for, it is done: prod-2 is no longer served M1.
        try rules.publish(id: "M1", narrow: true, context: context)
        #expect(try rules.record(id: "M1")?.revision == 2)

        // Under approval: refused at submit unless asked; asked, it waits; the approver applies it.
        let changes = ChangeStore(database: temporary.database)
        try changes.setRequireApproval(true, context: context)
        // Revision 2 to canary only: prod-1 would remove it now (prod-2 no longer has it served).
        #expect(throws: RuleChangeError.narrowing(id: "M1", hosts: 1)) {
            try changes.submit(.publish(id: "M1", revision: nil, release: .to(["canary"])), context: context)
        }
        guard case .pending(let pending) = try changes.submit(.publish(id: "M1", revision: nil, release: .to(["canary"])), narrow: true, context: context) else {
            Issue.record("not pending"); return
        }
        _ = try changes.approve(pending.id, context: ChangeContext(actor: "other"))
        #expect(try rules.record(id: "M1")?.release == .to(["canary"]))
    }

    /// A narrowing needs a reason; the hosts it takes the rule from are recorded, counted as
    /// narrowed and listed while the rule does not reach them, and their standing says so.
    @Test func hostsANarrowingTookTheRuleFromStayVisible() throws {
        let temporary = try TestDatabase()
        let context = ChangeContext(actor: "test", reason: "INC-8")
        try CheckInStore(database: temporary.database).record([
            Self.poll("canary-1", build: "15.2.1118.7", applied: ["M1"], at: 1000),
            Self.poll("prod-1", build: "15.2.1118.7", applied: ["M1"], at: 1000),
            Self.poll("prod-3", build: "15.2.1118.7", at: 1000),
            // No name: a group of name patterns is NULL for it in SQL, and the feed stops serving it.
            CheckIn(
                serverID: "00000000-0000-4000-8000-00000000000a", serverName: nil, build: "15.2.1118.7", orgID: nil, applied: ["M1"], blocked: [],
                mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: nil, userAgent: nil, time: Date(timeIntervalSince1970: 1_800_001_000)
            ),
        ])
        let rules = try Self.publishM1WithACanaryGroup(temporary, context)

        #expect(throws: RuleChangeError.narrowingNeedsReason(id: "M1", hosts: 2)) {
            try rules.publish(id: "M1", to: .to(["canary"]), narrow: true, context: ChangeContext(actor: "test"))
        }
        #expect(try rules.record(id: "M1")?.release == .everyone)
        try rules.publish(id: "M1", to: .to(["canary"]), narrow: true, context: context)

        let fleet = FleetStore(database: temporary.database)
        let staleSince = Date(timeIntervalSince1970: 1_800_000_500)
        let counts = try fleet.coverage(of: Self.m1, revision: 1, staleSince: staleSince).hosts
        #expect(counts.notApplicable == 3 && counts.narrowed == 2, "\(counts)")
        let listed = try fleet.hosts(of: Self.m1, in: [.notApplicable], narrowed: true, staleSince: staleSince)
        #expect(listed.items.map(\.displayName) == ["prod-1", "00000000-0000-4000-8000-00000000000a"])
        let prod = try #require(listed.items.first)
        let narrowing = try #require(try fleet.narrowings(ofHost: prod.id)["M1"])
        #expect(narrowing.reason == "INC-8" && narrowing.revision == 1 && narrowing.hostID == prod.id)
        #expect(try fleet.narrowings(of: "M1", hosts: [prod.id, prod.id + 100]) == [prod.id: narrowing])
        let published = try rules.publishedSet()
        let served = try #require(published.rules.first { $0.id == "M1" })
        let standing = RuleStanding(of: served, rollout: published.rollout, on: prod, staleSince: staleSince, catalog: published.catalog, narrowed: narrowing)
        #expect(standing.state == .notApplicable && standing.label == "removed by narrowing" && standing.reason.hasSuffix(": INC-8"), "\(standing)")

        // An import cannot narrow: a file retiring M1 is refused while hosts have it applied.
        var retired = Self.m1
        retired.state = .retired
        #expect(throws: RuleChangeError.narrowing(id: "M1", hosts: 1)) { try rules.importRules([retired], context: context) }
        #expect(try rules.record(id: "M1")?.rule.state == .published)

        // Released to everyone again, the rule reaches it: no longer counted as narrowed.
        try rules.promote(id: "M1", to: .everyone, context: context)
        #expect(try fleet.coverage(of: Self.m1, revision: 1, staleSince: staleSince).hosts.narrowed == 0)
        let reached = RuleStanding(
            of: served, rollout: try rules.publishedSet().rollout, on: prod, staleSince: staleSince, catalog: published.catalog, narrowed: narrowing
        )
        #expect(reached.narrowed == nil && reached.label == reached.state.label)
    }

    /// Every reported build, with its hosts and name, a page at a time in the order of its text.
    @Test func everyReportedBuildIsListedAPageAtATime() throws {
        let temporary = try TestDatabase()
        try CheckInStore(database: temporary.database).record([
            Self.poll("a", build: "15.2.1118.7", at: 1), Self.poll("b", build: "15.2.1118.7", at: 1),
            Self.poll("c", build: "15.1.2507.6", at: 1), Self.poll("d", build: "15.2.986.5", at: 1), Self.poll("e", build: nil, at: 1),
        ])
        let fleet = FleetStore(database: temporary.database)
        let first = try fleet.builds(page: PageRequest(limit: 2))
        #expect(first.items.map(\.build) == ["15.1.2507.6", "15.2.1118.7"] && first.items.map(\.hosts) == [1, 2])
        #expect(first.items[1].name.hasPrefix("Exchange 2019 CU12"))
        let second = try fleet.builds(page: PageRequest(limit: 2, cursor: try #require(first.next)))
        #expect(second.items.map(\.build) == ["15.2.986.5"] && second.next == nil)
    }

    /// The hosts exposed to any of several rules, each counted once, a page at a time.
    @Test func hostsExposedToAnyRuleAreCountedOnce() throws {
        let temporary = try TestDatabase()
        let store = CheckInStore(database: temporary.database)
        let ping = Mitigation(id: "PING1", description: "d", state: .published, actions: [.doNothing(description: nil)])
        try store.record([
            Self.poll("both", build: "15.2.1118.7", at: 1000),                                  // exposed to M1 and PING1
            Self.poll("m1-only", build: "15.2.1118.7", applied: ["PING1"], at: 1000),            // exposed to M1
            Self.poll("protected", build: "15.2.1118.7", applied: ["M1", "PING1"], at: 1000),
            Self.poll("fixed", build: "15.2.1118.15", applied: ["PING1"], at: 1000),             // M1 not applicable
            Self.poll("blocked", build: "15.2.1118.15", blocked: ["PING1"], at: 1000),           // exposed to PING1 (blocked)
        ])
        let rules = RuleStore(database: temporary.database)
        for var rule in [Self.m1, ping] {
            rule.state = .draft
            try rules.put(rule, context: .localUser)
            try rules.publish(id: rule.id, to: .everyone, context: .localUser)
        }
        let fleet = FleetStore(database: temporary.database)
        let staleSince = Date(timeIntervalSince1970: 1_800_000_500)
        let first = try fleet.exposedHosts(to: [Self.m1, ping], staleSince: staleSince, page: PageRequest(limit: 2))
        #expect(first.total == 3 && first.page.items.map(\.displayName) == ["both", "m1-only"])
        let second = try fleet.exposedHosts(to: [Self.m1, ping], staleSince: staleSince, page: PageRequest(limit: 2, cursor: try #require(first.page.next)))
        #expect(second.page.items.map(\.displayName) == ["blocked"] && second.page.next == nil)
        #expect(try fleet.exposedHosts(to: [], staleSince: staleSince).total == 0)
        // A staged rule (released to hosts named fixed*) is judged host by host: the same count,
        // plus "fixed", which it reaches and which has not applied it.
        try HostGroupStore(database: temporary.database).create(name: "f", selector: .names(["fixed*"]), context: .localUser)
        let staged = Mitigation(id: "W1", description: "d", state: .draft, actions: [.doNothing(description: nil)])
        try rules.put(staged, context: .localUser)
        try rules.publish(id: "W1", to: .to(["f"]), context: .localUser)
        #expect(try fleet.exposedHosts(to: [Self.m1, ping], staleSince: staleSince).total == 3)
        #expect(try fleet.exposedHosts(to: [Self.m1, ping, staged], staleSince: staleSince).total == 4)
    }
}
