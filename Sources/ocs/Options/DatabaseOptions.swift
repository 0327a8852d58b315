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

/// A failure to report to the user as one message, exiting non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    static func noSuchRule(_ id: String) -> CommandFailure {
        CommandFailure("no rule with id '\(id)': `ocs rules list` shows the ids")
    }
}
