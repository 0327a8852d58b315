import ArgumentParser
import OCSOperations
import OCSStorage

/// `ocs builds list [--product P] [--cu CU] [--json]`: the catalog in effect, page by page.
struct BuildsList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the build catalog: embedded rows and those added with ocs builds add or import."
    )

    @Option(help: "Only this product: Exchange2016, Exchange2019 or ExchangeSE.")
    var product: String?

    @Option(help: "Only this CU, e.g. CU15 (with --product, of that product).")
    var cu: String?

    @Flag(help: "Print JSON for scripts: an array of builds.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let filter: BuildsFilter
        do {
            filter = try BuildsFilter(product: product, cu: cu)
        } catch {
            throw ValidationError(error.description)
        }
        let store = CatalogStore(database: try database.open())
        var output = PagedOutput(json: json, header: ["NAME", "BUILD", "RELEASED", "SOURCE"])
        try PageRequest.walk { page in try store.list(product: filter.product, cu: filter.cu, page: page) } handle: { page in
            let views = page.items.map(BuildView.init)
            output.print(views, rows: views.map { [$0.name, $0.build, $0.released, $0.source] })
        }
        output.finish()
    }
}
