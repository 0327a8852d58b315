import Foundation
import Testing
@testable import OCSDomain

struct BuildCatalogTests {
    let catalog = BuildCatalog.embedded

    @Test(arguments: [
        ("15.2.1118.15", "Exchange 2019 CU12 Oct22SU"),
        ("15.2.1118.7", "Exchange 2019 CU12"),
        ("15.1.2507.6", "Exchange 2016 CU23"),
        ("15.1.2507.32", "Exchange 2016 CU23 Aug23SUv2"),
        ("15.2.2562.17", "Exchange SE RTM"),
        ("15.2.1544.48", "Exchange 2019 CU14 Sep26SUv2"),
        ("15.2.1118.16", "Exchange 2019 CU12 (unlisted build 15.2.1118.16)"),
        ("15.2.1300.1", "Exchange 2019 (unlisted build 15.2.1300.1)"),
        ("15.1.1713.5", "Exchange 2016 CU12"),
    ])
    func namesBuilds(_ text: String, _ name: String) throws {
        #expect(catalog.describe(try ExchangeBuild(parsing: text)) == name)
    }

    @Test func embeddedCatalogIsTheSharedCSV() throws {
        // The repo's copy is derived from ../shared; when that is beside the checkout, they must agree.
        let here = URL(fileURLWithPath: #filePath)
        let shared = here.deletingLastPathComponent().appendingPathComponent("../../../shared/data/exchange-builds.csv").standardized
        let repoCopy = here.deletingLastPathComponent().appendingPathComponent("../../Sources/OCSDomain/Catalog/exchange-builds.csv").standardized
        let embedded = String(decoding: PackageResources.exchange_builds_csv, as: UTF8.self)
        #expect(embedded == (try String(contentsOf: repoCopy, encoding: .utf8)))
        if FileManager.default.fileExists(atPath: shared.path) {
            #expect(embedded == (try String(contentsOf: shared, encoding: .utf8)))
        }
    }

    @Test func holdsEveryRow() {
        #expect(catalog.entries.count == 246)
        #expect(catalog.cumulativeUpdates(of: .exchange2019).map(\.cumulativeUpdate).first == "RTM")
        #expect(catalog.cumulativeUpdates(of: .exchange2019).count == 16)
        #expect(Set(catalog.updates(named: "Oct22SU").map(\.name)) == [
            "Exchange 2016 CU22 Oct22SU", "Exchange 2016 CU23 Oct22SU",
            "Exchange 2019 CU11 Oct22SU", "Exchange 2019 CU12 Oct22SU",
        ])
    }

    @Test func rejectsMalformedCSV() {
        #expect(throws: CatalogError.self) { try BuildCatalog(csv: "product,cu,update,build,released\nExchange2016,CU1,,15.1.x,2016-01-01\n") }
        #expect(throws: CatalogError.self) { try BuildCatalog(csv: "h\nExchange2013,CU1,,15.0.1.1,2016-01-01\n") }
        #expect(throws: CatalogError.self) { try BuildCatalog(csv: "h\nExchange2016,CU1,,15.1.1.1,2016-13\n") }
        #expect(throws: CatalogError.self) { try BuildCatalog(csv: "h\nExchange2016,CU1,15.1.1.1,2016-12\n") }
    }
}
