import Testing
@testable import OCSDomain

struct CoverageTests {
    @Test func theFirstStateThatFitsWins() {
        func state(_ scope: CoverageFacts.Scope, stale: Bool = false, blocked: Bool = false, applied: Bool = false, disabled: Bool = false) -> CoverageState {
            CoverageFacts(scope: scope, isStale: stale, reportsBlocked: blocked, reportsApplied: applied, mitigationsDisabled: disabled).state
        }
        #expect(state(.unknownBuild, stale: true, blocked: true, applied: true, disabled: true) == .unknown)
        #expect(state(.outOfScope, stale: true, blocked: true, applied: true, disabled: true) == .notApplicable)
        #expect(state(.inScope, stale: true, blocked: true, applied: true, disabled: true) == .stale)
        #expect(state(.inScope, blocked: true, applied: true, disabled: true) == .blocked)
        #expect(state(.inScope, applied: true, disabled: true) == .applied)
        #expect(state(.inScope, disabled: true) == .disabled)
        #expect(state(.inScope) == .pending)
    }

    @Test func everyCombinationHasOneCodeAndOneState() {
        #expect(CoverageFacts.all.count == 48)
        #expect(Set(CoverageFacts.all.map(\.code)).count == 48)
        for facts in CoverageFacts.all {
            #expect(CoverageFacts(code: facts.code) == facts)
        }
        let everyState = CoverageState.allCases.map { CoverageFacts.codes(giving: [$0]) }
        #expect(everyState.map(\.count).reduce(0, +) == 48, "the states partition the combinations")
        #expect(CoverageFacts(code: 48) == nil)
        #expect(CoverageFacts(code: -1) == nil)
    }

    @Test func countsAddUpAsTheIssueDefinesThem() {
        var counts = CoverageCounts()
        for (state, hosts) in zip(CoverageState.allCases, 1...7) { counts.add(state, hosts: hosts) }
        #expect(counts.total == 28)
        #expect(counts.inScope == counts.stale + counts.blocked + counts.applied + counts.disabled + counts.pending)
        #expect(counts.exposed == counts.inScope - counts.applied)
        #expect(counts[.pending] == 7)
        let fromCodes = CoverageCounts(hostsByFactsCode: CoverageState.allCases.enumerated().map { index, state in
            (code: CoverageFacts.codes(giving: [state])[0], hosts: index + 1)
        })
        #expect(fromCodes == counts)
    }

    @Test func selectionsNameOneStateOrASum() {
        #expect(CoverageSelection(name: "stale")?.states == [.stale])
        #expect(CoverageSelection(name: "exposed")?.states == [.stale, .blocked, .disabled, .pending])
        #expect(CoverageSelection(name: "inScope")?.states.count == 5)
        #expect(CoverageSelection(name: "Stale") == nil)
        #expect(CoverageSelection(name: "narrowed")?.states == [.notApplicable] && CoverageSelection(name: "narrowed")?.narrowed == true)
        #expect(CoverageSelection(name: "notApplicable")?.narrowed == false)
        #expect(CoverageSelection.names.count == 10)
    }

    @Test func scopeFollowsTheRuleAndTheBuild() {
        let catalog = BuildCatalog.embedded
        let m1 = Mitigation(id: "M1", description: "d", applies: Applicability(products: [.exchange2019], narrowing: .fixedBy("Oct22SU")), actions: [.doNothing(description: nil)])
        let everywhere = Mitigation(id: "PING1", description: "d", actions: [.doNothing(description: nil)])
        #expect(CoverageFacts.scope(of: m1, build: nil, catalog: catalog) == .unknownBuild)
        #expect(CoverageFacts.scope(of: m1, build: "15.2.1118.7", catalog: catalog) == .inScope)
        #expect(CoverageFacts.scope(of: m1, build: "15.2.1118.15", catalog: catalog) == .outOfScope)
        #expect(CoverageFacts.scope(of: m1, build: "garbage", catalog: catalog) == .outOfScope)
        #expect(CoverageFacts.scope(of: everywhere, build: "15.2.2562.17", catalog: catalog) == .inScope)
    }

    @Test func theFleetSummaryNamesBuildsAndFindsHostsBehindTheirBranch() throws {
        let catalog = BuildCatalog.embedded
        let newestCU12 = try #require(catalog.newestBuild(on: try ExchangeBuild(parsing: "15.2.1118.7").branch))
        let summary = FleetSummary(
            total: 10, stale: 2,
            hostsByBuild: [("15.2.1118.15", 3), (newestCU12.build.description, 2), ("15.2.1999.1", 1), ("15.1.2507.6", 1)],
            rules: [], staleAfterSeconds: 60, catalog: catalog
        )
        #expect(summary.hosts == FleetSummary.Hosts(total: 10, stale: 2, unknownBuild: 3, notOnNewestUpdate: 4))
        #expect(summary.products.map { "\($0.product.rawValue) \($0.hosts)" } == ["Exchange2016 1", "Exchange2019 6"])
        #expect(summary.cumulativeUpdates.map { "\($0.cumulativeUpdate) \($0.hosts) \($0.notOnNewestUpdate)" } == ["CU23 1 1", "CU12 5 3", "unlisted 15.2.1999 1 0"])
        let oct22 = try #require(summary.builds.first { $0.build == "15.2.1118.15" })
        #expect(oct22.name == "Exchange 2019 CU12 Oct22SU")
        #expect(oct22.update == "Oct22SU")
        #expect(oct22.newestOnBranch == false)
        #expect(summary.builds.first { $0.build == newestCU12.build.description }?.newestOnBranch == true)
        #expect(summary.builds.first { $0.build == "15.2.1999.1" }?.newestOnBranch == nil)
    }

    /// Made-up builds (anyone can poll) made the fleet view 19.6 MB: a summary lists at most
    /// `maximumListed` builds and branches, those with the most hosts, and counts the rest.
    @Test func theFleetSummaryListsABoundedNumberOfBuildsAndBranches() throws {
        let count = FleetSummary.maximumListed + 50
        // Branch 15.2.(1000+n), one build each; the last ten hold two hosts.
        let hostsByBuild = (0..<count).map { ("15.2.\(1000 + $0).1", $0 >= count - 10 ? 2 : 1) }
        let summary = FleetSummary(total: count + 10, stale: 0, hostsByBuild: hostsByBuild, rules: [], staleAfterSeconds: 60, catalog: .embedded)
        #expect(summary.builds.count == FleetSummary.maximumListed)
        #expect(summary.unlistedBuilds == FleetSummary.Unlisted(entries: 50, hosts: 50))
        #expect(summary.builds.filter { $0.hosts == 2 }.count == 10, "those with the most hosts are kept")
        #expect(summary.builds.map(\.build) == summary.builds.map(\.build).sorted { try! ExchangeBuild(parsing: $0) < ExchangeBuild(parsing: $1) }, "in build order")
        #expect(summary.cumulativeUpdates.count == FleetSummary.maximumListed)
        #expect(summary.unlistedCumulativeUpdates == FleetSummary.Unlisted(entries: 50, hosts: 50))
        #expect(summary.hosts.total == count + 10, "the totals count every host")
        let small = FleetSummary(total: 1, stale: 0, hostsByBuild: [("15.2.1118.7", 1)], rules: [], staleAfterSeconds: 60, catalog: .embedded)
        #expect(small.unlistedBuilds == nil && small.unlistedCumulativeUpdates == nil)
    }
}
