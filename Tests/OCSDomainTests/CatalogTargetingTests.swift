import Foundation
import Testing
@testable import OCSDomain

/// Rules that name CU branches and catalog rows, judged against the catalog in effect.
struct CatalogTargetingTests {
    let catalog = BuildCatalog.embedded

    func name(_ text: String) throws -> CatalogName { try CatalogName(parsing: text) }
    func build(_ text: String) throws -> ExchangeBuild { try ExchangeBuild(parsing: text) }
    func rule(_ applies: Applicability) -> Mitigation {
        Mitigation(id: "T", description: "d", applies: applies, actions: [.doNothing(description: nil)])
    }
    /// Nov26SU on Exchange 2019 CU15 only, as `ocs builds add` would add it.
    var nov26: BuildCatalog.Entry {
        get throws {
            BuildCatalog.Entry(product: .exchange2019, cumulativeUpdate: "CU15", update: "Nov26SU", build: try build("15.2.1748.55"), released: ReleaseDate(parsing: "2026-11")!)
        }
    }

    @Test func namesParseInBothProductSpellingsAndKeepTheirText() throws {
        let spaced = try name("Exchange 2019 CU14 Nov26SU")
        #expect(spaced.product == .exchange2019 && spaced.cumulativeUpdate == "CU14" && spaced.update == "Nov26SU")
        #expect(spaced.written == "Exchange 2019 CU14 Nov26SU")
        #expect(spaced.canonical == "Exchange2019 CU14 Nov26SU")
        #expect(try name("Exchange2019 CU14 Nov26SU") == spaced)
        #expect(try name("ExchangeSE RTM").product == .exchangeSE)
        #expect(try name("Exchange SE RTM Aug26SU").update == "Aug26SU")
        for bad in ["Exchange2013 CU1", "Exchange2019", "Exchange2019 CU", "Exchange2019 CU14 Nov26", "Exchange2019 CU14 Nov26SU extra", "CU14", ""] {
            #expect(throws: CatalogNameError.self, "\(bad)") { try CatalogName(parsing: bad) }
        }
        #expect(try RangeBound(parsing: "15.2.1544.4") == .build(build("15.2.1544.4")))
        #expect(try RangeBound(parsing: "Exchange2019 CU14") == .name(name("Exchange2019 CU14")))
        #expect(throws: RangeBoundError(description: ExchangeBuildError(input: "15.2.x").description)) { try RangeBound(parsing: "15.2.x") }
    }

    @Test func cusNarrowToThoseBranchesOnSeveralBuilds() throws {
        let applies = Applicability(cumulativeUpdates: [try name("Exchange2019 CU14"), try name("Exchange 2019 CU15")], narrowing: .fixedBy("Sep26SU"))
        let expected: [(String, Bool)] = [
            ("15.2.1544.4", true),    // CU14 itself
            ("15.2.1544.44", true),   // CU14 Aug26SU, below Sep26SU
            ("15.2.1544.46", false),  // CU14 Sep26SU
            ("15.2.1544.48", false),  // CU14 Sep26SUv2
            ("15.2.1748.10", true),   // CU15 itself
            ("15.2.1748.50", true),   // an unlisted CU15 build below Sep26SU
            ("15.2.1748.51", false),  // CU15 Sep26SU
            ("15.2.1258.12", false),  // CU13: not a listed branch
            ("15.1.2507.6", false),   // Exchange 2016
            ("15.2.2562.17", false),  // SE RTM
        ]
        for (text, exposed) in expected {
            #expect(applies.includes(try build(text), catalog: catalog) == exposed, "\(text)")
        }
        #expect(RuleValidator(catalog: catalog).problems(in: rule(applies)).isEmpty)
        #expect(RuleValidator(catalog: catalog).warnings(in: rule(applies)).isEmpty)
    }

    @Test func rangeBoundsMayBeCatalogNames() throws {
        let applies = Applicability(narrowing: .ranges([BuildRange(from: .name(try name("Exchange2019 CU14")), until: .name(try name("Exchange 2019 CU14 Aug26SU")))]))
        #expect(applies.includes(try build("15.2.1544.4"), catalog: catalog))
        #expect(applies.includes(try build("15.2.1544.43"), catalog: catalog))
        #expect(!applies.includes(try build("15.2.1544.44"), catalog: catalog))
        #expect(!applies.includes(try build("15.2.1497.2"), catalog: catalog))
        let inverted = Applicability(narrowing: .ranges([BuildRange(from: .name(try name("Exchange2019 CU15")), until: .name(try name("Exchange2019 CU14")))]))
        #expect(RuleValidator(catalog: catalog).problems(in: rule(inverted)).map(\.description)
            == ["applies.ranges[0]: is empty: 'from' 'Exchange2019 CU15' (15.2.1748.10) is not below 'until' 'Exchange2019 CU14' (15.2.1544.4)"])
    }

    @Test func aNameTheCatalogLearnsTakesEffectWithoutEditingTheRule() throws {
        let applies = Applicability(cumulativeUpdates: [try name("Exchange2019 CU15")], narrowing: .fixedBy("Nov26SU"))
        let until = Applicability(narrowing: .ranges([BuildRange(from: nil, until: .name(try name("Exchange2019 CU15 Nov26SU")))]))
        let before = RuleValidator(catalog: catalog)
        #expect(before.problems(in: rule(applies)).map(\.field) == ["applies.fixedBy"])
        #expect(before.problems(in: rule(until)).map(\.field) == ["applies.ranges[0].until"])
        #expect(!until.includes(try build("15.2.1748.10"), catalog: catalog), "an unknown bound matches nothing")

        let grown = catalog.adding([try nov26])
        let after = RuleValidator(catalog: grown)
        #expect(after.problems(in: rule(applies)).isEmpty)
        #expect(after.problems(in: rule(until)).isEmpty)
        #expect(applies.includes(try build("15.2.1748.53"), catalog: grown))
        #expect(!applies.includes(try build("15.2.1748.55"), catalog: grown))
        #expect(until.includes(try build("15.2.1748.54"), catalog: grown))
        #expect(!until.includes(try build("15.2.1748.55"), catalog: grown))
    }

    @Test func cusRefuseUpdatesUnknownCUsAndRepeats() throws {
        let applies = Applicability(cumulativeUpdates: [try name("Exchange2019 CU14 Aug26SU"), try name("Exchange2019 CU99"), try name("Exchange2016 CU23"), try name("Exchange 2016 CU23")])
        #expect(RuleValidator(catalog: catalog).problems(in: rule(applies)).map(\.field) == ["applies.cus", "applies.cus[0]", "applies.cus[1]"])
        #expect(RuleValidator(catalog: catalog).problems(in: rule(Applicability(cumulativeUpdates: []))).map(\.field) == ["applies.cus"])
    }

    @Test func warnsAboutTargetingThatCanMatchNothing() throws {
        let validator = RuleValidator(catalog: catalog)
        let wrongProduct = Applicability(products: [.exchange2016], narrowing: .ranges([
            BuildRange(fromBuild: try build("15.2.0.0"), untilBuild: try build("15.2.1118.7")),
            BuildRange(fromBuild: try build("15.1.0.0"), untilBuild: nil),
        ]))
        #expect(validator.warnings(in: rule(wrongProduct)).map(\.description) == ["applies.ranges[0]: matches no build of Exchange2016: it can match nothing"])

        let unlistedCU = Applicability(products: [.exchange2016], cumulativeUpdates: [try name("Exchange2019 CU14"), try name("Exchange2016 CU23")])
        #expect(validator.warnings(in: rule(unlistedCU)).map(\.field) == ["applies.cus[0]"])

        let rangeOutsideCUs = Applicability(cumulativeUpdates: [try name("Exchange2019 CU14")], narrowing: .ranges([BuildRange(from: .name(try name("Exchange2019 CU15")), until: nil)]))
        #expect(validator.warnings(in: rule(rangeOutsideCUs)).map(\.description) == ["applies.ranges[0]: matches no build of the listed CUs: it can match nothing"])

        let neverShipped = Applicability(products: [.exchange2016], narrowing: .fixedBy("May26HU"))
        #expect(validator.warnings(in: rule(neverShipped)).map(\.description)
            == ["applies.fixedBy: May26HU was never released for Exchange2016 (only for ExchangeSE): no listed build is ever fixed by it"])
        let neverOnCU = Applicability(cumulativeUpdates: [try name("Exchange2019 CU13")], narrowing: .fixedBy("Aug26SU"))
        #expect(validator.warnings(in: rule(neverOnCU)).map(\.field) == ["applies.fixedBy"])

        let fine = Applicability(products: [.exchange2019], cumulativeUpdates: [try name("Exchange2019 CU14")], narrowing: .ranges([BuildRange(fromBuild: try build("15.2.1544.0"), untilBuild: nil)]))
        #expect(validator.warnings(in: rule(fine)).isEmpty)
        #expect(validator.warnings(in: rule(Applicability(products: [.exchange2019], narrowing: .fixedBy("Aug26SU")))).isEmpty)
    }

    @Test func storedRulesKeepNamesAsWritten() throws {
        let original = rule(Applicability(
            products: [.exchange2019], cumulativeUpdates: [try name("Exchange 2019 CU14")],
            narrowing: .ranges([BuildRange(from: .name(try name("Exchange 2019 CU14")), until: .build(try build("15.2.1544.44")))])
        ))
        let json = String(decoding: try JSONEncoder().encode(original), as: UTF8.self)
        #expect(json.contains("\"cus\":[\"Exchange 2019 CU14\"]"))
        #expect(json.contains("\"from\":\"Exchange 2019 CU14\""))
        let decoded = try JSONDecoder().decode(Mitigation.self, from: Data(json.utf8))
        #expect(decoded == original)
        #expect(decoded.applies?.cumulativeUpdates?.first?.written == "Exchange 2019 CU14")
    }
}

/// Builds added on top of the embedded catalog: what is refused, and why.
struct CatalogAdditionTests {
    let catalog = BuildCatalog.embedded

    func refusal(_ product: String, _ cu: String, _ update: String?, _ build: String, _ released: String) -> String? {
        switch CatalogAddition.validate([(nil, CatalogRowInput(product: product, cu: cu, update: update, build: build, released: released))], against: catalog) {
        case .success: nil
        case .failure(let invalid): invalid.description
        }
    }

    @Test func acceptsANewUpdateANewCUAndKnownRowsAsUnchanged() throws {
        #expect(refusal("Exchange2019", "CU15", "Nov26SU", "15.2.1748.55", "2026-11") == nil)
        #expect(refusal("Exchange 2019", "CU16", nil, "15.2.1800.5", "2026-12-01") == nil)
        let known = CatalogAddition.validate([(nil, CatalogRowInput(product: "Exchange2019", cu: "CU14", update: "", build: "15.2.1544.4", released: "2024-02-13"))], against: catalog)
        #expect(try known.get().isEmpty, "a row the catalog lists exactly so is left out")
    }

    @Test func refusesWhatDoesNotFit() {
        let cases: [(String, String, String?, String, String, String)] = [
            ("Exchange2013", "CU1", nil, "15.0.1.1", "2026-11", "unknown product 'Exchange2013'"),
            ("Exchange2019", "CU15", "Nov26SU", "15.1.1748.45", "2026-11", "build 15.1.1748.45 is an Exchange2016 build, not Exchange2019"),
            ("Exchange2019", "Cu15", "Nov26SU", "15.2.1748.45", "2026-11", "cu 'Cu15' is not well-formed"),
            ("Exchange2019", "CU15", "November", "15.2.1748.45", "2026-11", "update 'November' is not well-formed"),
            ("Exchange2019", "CU15", "Nov26SU", "15.2.1748.45", "2026-13", "released '2026-13' is not a date"),
            ("Exchange2019", "CU16", nil, "15.2.1748.60", "2026-12-01", "branch 15.2.1748 is already Exchange2019 CU15"),
            ("Exchange2019", "CU15", "Nov26SU", "15.2.1748.5", "2026-11", "is not above Exchange2019 CU15's own build 15.2.1748.10"),
            ("Exchange2019", "CU15", "Nov26SU", "15.2.1749.45", "2026-11", "is not on Exchange2019 CU15's branch 15.2.1748"),
            ("Exchange2019", "CU17", "Nov26SU", "15.2.1900.45", "2026-11", "Exchange2019 CU17 is not in the catalog: add the CU's own build first"),
            ("Exchange2019", "CU15", "Nov26SU", "15.2.1748.50", "2026-11", "would come before Sep26SU 15.2.1748.51"),
            ("Exchange2019", "CU15", "Jan26SU", "15.2.1748.60", "2026-01", "would come after"),
            ("Exchange2019", "CU15", "Sep26SU", "15.2.1748.60", "2026-09", "Exchange2019 CU15 Sep26SU is already in the catalog as 15.2.1748.51, not 15.2.1748.60"),
            ("Exchange2019", "CU15", "Nov26SU", "15.2.1748.51", "2026-11", "build 15.2.1748.51 is already in the catalog as Exchange2019 CU15 Sep26SU"),
        ]
        for (product, cu, update, build, released, message) in cases {
            let found = refusal(product, cu, update, build, released)
            #expect(found?.contains(message) == true, "\(message): got \(found ?? "nothing")")
        }
    }

    /// A new CU of a product line comes after every lower CU and before every higher one, by build
    /// and by release date: a "CU16" below CU13-CU15, or dated before CU15, is refused naming them.
    @Test func aNewCUMustFitItsProductsCUOrder() throws {
        let below = try #require(refusal("Exchange2019", "CU16", nil, "15.2.1300.5", "2022-12"))
        #expect(below.contains("Exchange2019 CU16 at 15.2.1300.5 released 2022-12 is out of CU order: it must come after CU15 (15.2.1748.10, 2025-02-10)"), "\(below)")
        #expect(below.contains("conflicts with CU13, CU14, CU15"), "\(below)")
        let early = try #require(refusal("Exchange2019", "CU16", nil, "15.2.1800.5", "2024-12-01"))
        #expect(early.contains("conflicts with CU15") && !early.contains("CU14"), "\(early)")
        // Between two CUs (CU17 added first): above the lower, below the higher, by both measures.
        let cu17 = CatalogRowInput(product: "Exchange2019", cu: "CU17", update: nil, build: "15.2.1900.1", released: "2027-06-01")
        func between(_ build: String, _ released: String) -> String? {
            let cu16 = CatalogRowInput(product: "Exchange2019", cu: "CU16", update: nil, build: build, released: released)
            guard case .failure(let invalid) = CatalogAddition.validate([(2, cu17), (3, cu16)], against: catalog) else { return nil }
            return invalid.description
        }
        #expect(between("15.2.1850.1", "2026-12-01") == nil)
        let above = try #require(between("15.2.1950.1", "2026-12-01"))
        #expect(above.hasPrefix("line 3: ") && above.contains("must come after CU15 (15.2.1748.10, 2025-02-10) and before CU17 (15.2.1900.1, 2027-06-01)") && above.contains("conflicts with CU17"), "\(above)")
        #expect(try #require(between("15.2.1850.1", "2027-07")).contains("conflicts with CU17"))
        let reversed = try #require(refusal("Exchange2016", "CU24", nil, "15.1.2400.1", "2027-01-01"))
        #expect(reversed.contains("after CU23 (15.1.2507.6"), "\(reversed)")
        // Its own product's CUs only: Exchange 2016 CU23 shares a release date with 2019 CU12.
        #expect(refusal("Exchange2019", "CU16", nil, "15.2.1800.5", "2026-12-01") == nil)
        #expect(refusal("ExchangeSE", "CU1", nil, "15.2.2600.1", "2026-12-01") == nil)
    }

    @Test func csvIsJudgedWholeWithLineNumbersAndInOrder() throws {
        let good = "product,cu,update,build,released\nExchange2019,CU16,,15.2.1800.5,2026-12-01\nExchange2019,CU16,Jan27SU,15.2.1800.7,2027-01\n"
        let rows = try CatalogAddition.rows(csv: good).get()
        #expect(try CatalogAddition.validate(rows, against: catalog).get().map(\.catalogName.canonical) == ["Exchange2019 CU16", "Exchange2019 CU16 Jan27SU"])

        let bad = "product,cu,update,build,released\nExchange2019,CU16,,15.2.1800.5,2026-12-01\nExchange2019,CU16,Jan27SU,15.1.1800.7,2027-01\nExchangeSE,RTM,Nov26SU,15.2.2562.60\n"
        #expect(throws: CatalogRowsInvalid.self) { try CatalogAddition.rows(csv: bad).get() }
        let problems = CatalogAddition.rows(csv: bad)
        if case .failure(let invalid) = problems { #expect(invalid.problems.map(\.line) == [4]) }
        let badRows = "product,cu,update,build,released\nExchange2019,CU16,,15.2.1800.5,2026-12-01\nExchange2019,CU16,Jan27SU,15.1.1800.7,2027-01\nExchange2019,CU15,Nov26SU,15.2.1748.40,2026-11\n"
        switch CatalogAddition.validate(try CatalogAddition.rows(csv: badRows).get(), against: catalog) {
        case .success: Issue.record("bad rows were accepted")
        case .failure(let invalid): #expect(invalid.problems.map(\.line) == [3, 4])
        }
        #expect(throws: CatalogRowsInvalid.self) { try CatalogAddition.rows(csv: "product,cu,build\n").get() }
    }

    @Test func listKeysOrderByBuildWithCUsFirst() throws {
        let keys = catalog.entries.map(CatalogAddition.listKey)
        #expect(Set(keys).count == keys.count, "every row has its own key")
        let ordered = catalog.entries.sorted { CatalogAddition.listKey($0) < CatalogAddition.listKey($1) }
        #expect(ordered.map(\.build) == ordered.map(\.build).sorted())
    }
}
