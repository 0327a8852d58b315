import OCSAgent
import OCSDomain
import Testing

struct SimulatedFleetTests {
    @Test func theSameSeedGivesTheSameFleetWithARealisticSpread() throws {
        let fleet = SimulatedFleet.hosts(count: 2000, seed: 7, blockedRate: 0.1, autoApplyOffRate: 0.05, blockedID: "M1")
        #expect(fleet == SimulatedFleet.hosts(count: 2000, seed: 7, blockedRate: 0.1, autoApplyOffRate: 0.05, blockedID: "M1"))
        #expect(fleet != SimulatedFleet.hosts(count: 2000, seed: 8, blockedRate: 0.1, autoApplyOffRate: 0.05, blockedID: "M1"))
        #expect(fleet[42].name == "SIM-000042")
        #expect(Set(fleet.compactMap(\.serverID)).count == 2000)

        let catalog = BuildCatalog.embedded
        let builds = try fleet.map { try ExchangeBuild(parsing: $0.build) }
        #expect(builds.allSatisfy { catalog.entry(for: $0) != nil }, "every build is one the catalog lists")
        // Most on their product's newest build; some behind; a few on older CUs.
        let newest = builds.filter { build in catalog.newestBuild(on: build.branch)?.build == build && catalog.cumulativeUpdates(of: ExchangeProduct(build: build)!).last?.build.branch == build.branch }
        #expect(newest.count > 1000 && newest.count < 1700, "\(newest.count)")
        let olderCU = builds.filter { catalog.cumulativeUpdates(of: ExchangeProduct(build: $0)!).last?.build.branch != $0.branch }
        #expect(olderCU.count > 100 && olderCU.count < 500, "\(olderCU.count)")
        let blocked = fleet.filter { $0.blocked == ["M1"] }.count, off = fleet.filter { !$0.autoApply }.count
        #expect(blocked > 120 && blocked < 280 && off > 40 && off < 160, "\(blocked) \(off)")
    }
}
