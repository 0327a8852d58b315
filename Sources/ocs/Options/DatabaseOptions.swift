import ArgumentParser
import OCSStorage

/// `--db`, shared by every subcommand that touches data.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite database file; created with its folder if missing.")
    var path = "data/ocs.sqlite"

    func open() throws -> OCSDatabase {
        do {
            return try OCSDatabase(path: path)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
