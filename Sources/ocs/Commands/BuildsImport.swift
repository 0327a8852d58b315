import ArgumentParser
import Foundation
import OCSDomain
import OCSOperations
import OCSStorage

/// `ocs builds import FILE.csv`: rows in the shared catalog's columns, all added or none.
struct BuildsImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add the builds of a CSV file (\(CatalogAddition.header)) to the catalog: all or none.",
        discussion: "Rows the catalog lists already, exactly so, are skipped: importing a newer copy of the shared catalog adds only what is new."
    )

    @Argument(help: "The CSV file, with the header line \(CatalogAddition.header).")
    var file: String

    @OptionGroup var approval: ApprovalOptions
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CommandFailure("cannot read \(file) as UTF-8 text: \(error.localizedDescription)")
        }
        let refused = { (problems: [CatalogProblem]) in
            CommandFailure(problems.map { "\(file):\($0.line.map(String.init) ?? "-"): \($0.message)" }.joined(separator: "\n") + "\nnothing was imported")
        }
        let rows: [(line: Int?, row: CatalogRowInput)]
        switch CatalogAddition.rows(csv: text) {
        case .success(let parsed): rows = parsed
        case .failure(let invalid): throw refused(invalid.problems)
        }
        let result: CatalogStore.AddResult
        let operations = Operations(database: try database.open())
        do throws(OperationError) {
            // The local user, whose access to the database makes them an admin.
            result = try operations.builds.add(
                rows, context: approval.reason.context, role: .admin, emergency: approval.emergency
            )
        } catch {
            switch error {
            case .catalog(.invalid(let problems)): throw refused(problems)
            case .storage: throw CommandFailure("nothing was imported: \(error)")
            default: throw CommandFailure(error)
            }
        }
        print("imported \(rows.count) builds: \(result.added.count) added, \(result.unchanged) listed already"
            + (result.serialRaised ? "; published rules now apply to other builds: serial raised" : ""))
    }
}
