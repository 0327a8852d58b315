import ArgumentParser
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs builds add --product P --cu CU [--update U] --build B --released DATE`: one catalog row.
struct BuildsAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a CU or an update to the catalog in the database, without a rebuild."
    )

    @Option(help: "Exchange2016, Exchange2019 or ExchangeSE.")
    var product: String

    @Option(help: "The CU: RTM or CU15.")
    var cu: String

    @Option(help: "The update on that CU, e.g. Nov26SU; leave out to add the CU's own build.")
    var update: String?

    @Option(help: "The build number, e.g. 15.2.1748.45.")
    var build: String

    @Option(help: "When it was released: 2026-11 (updates) or 2026-11-10.")
    var released: String

    @OptionGroup var approval: ApprovalOptions
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let row = CatalogRowInput(product: product, cu: cu, update: update, build: build, released: released)
        let result: CatalogStore.AddResult
        let operations = Operations(database: try database.open())
        do throws(OperationError) {
            // The local user, whose access to the database makes them an admin.
            result = try operations.builds.add(
                [(nil, row)], context: approval.reason.context, role: .admin, emergency: approval.emergency
            )
        } catch {
            if case .catalog(.invalid) = error { throw CommandFailure("nothing was added: \(error)") }
            throw CommandFailure(error)
        }
        guard let entry = result.added.first else {
            print("\(product) \(cu)\(update.map { " \($0)" } ?? "") \(build) is in the catalog already")
            return
        }
        print("added \(entry.catalogName.canonical) \(entry.build)" + (result.serialRaised ? "; published rules now apply to other builds: serial raised" : ""))
    }
}
