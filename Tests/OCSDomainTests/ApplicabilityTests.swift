import Testing
@testable import OCSDomain

struct ApplicabilityTests {
    let catalog = BuildCatalog.embedded
    let m1 = Applicability(products: [.exchange2016, .exchange2019], narrowing: .fixedBy("Oct22SU"))

    func exposed(_ applicability: Applicability, _ build: String) throws -> Bool {
        applicability.includes(try ExchangeBuild(parsing: build), catalog: catalog)
    }

    @Test(arguments: [
        // The worked examples of the issue.
        ("15.2.986.29", true), ("15.2.986.30", false), ("15.2.1118.7", true), ("15.2.1258.12", false),
        ("15.2.922.27", true), ("15.2.2562.17", false),
        // 2016: CU22 and CU23 got Oct22SU; CU21 did not and was released before it.
        ("15.1.2375.31", true), ("15.1.2375.32", false), ("15.1.2507.12", true), ("15.1.2507.13", false),
        ("15.1.2507.75", false), ("15.1.2308.27", true), ("15.1.225.42", true),
        // 2019 CU12 later updates and the CUs after the update.
        ("15.2.1118.20", false), ("15.2.1544.4", false), ("15.2.1748.53", false), ("15.2.221.12", true),
        // Unlisted revisions on listed branches compare with the update's build.
        ("15.2.1118.14", true), ("15.2.1118.16", false),
        // Unlisted branches: fixed only above the first 2019 CU after Oct22SU (CU13, 1258).
        ("15.2.1200.1", true), ("15.2.1300.1", false),
        // Unlisted 2016 branch: no 2016 CU came after Oct22SU, so it stays exposed.
        ("15.1.2600.1", true),
    ])
    func fixedByFollowsEachBranch(_ build: String, _ expected: Bool) throws {
        #expect(try exposed(m1, build) == expected)
    }

    @Test func fixedByAnUpdateSEAlsoReceived() throws {
        let m2 = Applicability(products: nil, narrowing: .fixedBy("Jun26SU"))
        #expect(try exposed(m2, "15.2.2562.41"))
        #expect(try !exposed(m2, "15.2.2562.43"))
        #expect(try exposed(m2, "15.2.1748.43"))
        #expect(try !exposed(m2, "15.2.1748.46"))
        #expect(try exposed(m2, "15.1.2507.66"))
        #expect(try !exposed(m2, "15.1.2507.69"))
        // 2019 CU13 never got Jun26SU and predates it.
        #expect(try exposed(m2, "15.2.1258.39"))
    }

    @Test func productsAloneSelectProductLines() throws {
        let onlySE = Applicability(products: [.exchangeSE])
        #expect(try exposed(onlySE, "15.2.2562.17"))
        #expect(try !exposed(onlySE, "15.2.1748.10"))
        #expect(try exposed(Applicability(), "15.1.225.42"))
        #expect(try !exposed(Applicability(), "15.0.1497.2"))
    }

    @Test func rangesAreHalfOpen() throws {
        let ranges = Applicability(products: nil, narrowing: .ranges([
            BuildRange(fromBuild: try ExchangeBuild(parsing: "15.1.396.30"), untilBuild: try ExchangeBuild(parsing: "15.1.1591.10")),
            BuildRange(fromBuild: try ExchangeBuild(parsing: "15.2.2562.17"), untilBuild: nil),
        ]))
        #expect(try exposed(ranges, "15.1.396.30"))
        #expect(try exposed(ranges, "15.1.1591.9"))
        #expect(try !exposed(ranges, "15.1.1591.10"))
        #expect(try !exposed(ranges, "15.1.225.42"))
        #expect(try exposed(ranges, "15.2.2562.53"))
        #expect(try !exposed(ranges, "15.2.1748.10"))
    }
}
