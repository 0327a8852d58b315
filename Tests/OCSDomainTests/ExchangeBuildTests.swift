import Testing
@testable import OCSDomain

struct ExchangeBuildTests {
    @Test func parsesDottedForm() throws {
        let build = try ExchangeBuild(parsing: "15.2.1118.7")
        #expect(build == ExchangeBuild(major: 15, minor: 2, build: 1118, revision: 7))
        #expect(build.description == "15.2.1118.7")
    }

    @Test func parsesAdminForm() throws {
        #expect(try ExchangeBuild(parsing: "Version 15.2 (Build 1118.7)") == ExchangeBuild(parsing: "15.2.1118.7"))
        #expect(try ExchangeBuild(parsing: "  version 15.1 (build 2507.6) ") == ExchangeBuild(parsing: "15.1.2507.6"))
        #expect(try ExchangeBuild(parsing: "15.2.1118.7").adminForm == "Version 15.2 (Build 1118.7)")
    }

    @Test(arguments: [
        "", "15.2.1118", "15.2.1118.7.1", "15.2.1118.x", "15..1118.7", "-15.2.1118.7", "15.2.1118.+7",
        "Version 15.2 (Build 1118)", "Version 15.2.1 (Build 1118.7)", "Version 15.2 Build 1118.7",
        "15.2.1118.99999999999", "１５.2.1118.7",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: ExchangeBuildError(input: text)) { try ExchangeBuild(parsing: text) }
    }

    @Test func errorNamesTheInput() {
        #expect(ExchangeBuildError(input: "banana").description.contains("'banana'"))
    }

    @Test func ordersNumericallyPartByPart() throws {
        let builds = try ["15.2.1118.10", "15.2.1118.9", "15.1.2507.6", "15.2.986.30", "15.2.2562.17"].map { try ExchangeBuild(parsing: $0) }
        #expect(builds.sorted().map(\.description) == ["15.1.2507.6", "15.2.986.30", "15.2.1118.9", "15.2.1118.10", "15.2.2562.17"])
        #expect(try ExchangeBuild(parsing: "15.2.1118.9").branch == ExchangeBuild(parsing: "15.2.1118.40").branch)
    }

    @Test(arguments: [
        ("15.1.225.42", ExchangeProduct.exchange2016),
        ("15.2.221.12", .exchange2019),
        ("15.2.2561.99", .exchange2019),
        ("15.2.2562.17", .exchangeSE),
        ("15.2.3000.1", .exchangeSE),
    ])
    func derivesProductLine(_ text: String, _ product: ExchangeProduct) throws {
        #expect(ExchangeProduct(build: try ExchangeBuild(parsing: text)) == product)
    }

    @Test func olderExchangeHasNoProductLine() throws {
        #expect(ExchangeProduct(build: try ExchangeBuild(parsing: "15.0.1497.2")) == nil)
    }
}
