import ArgumentParser
import Foundation
import OCSOperations
import OCSStorage

/// `--config` and `--db`, shared by every subcommand that touches data. Only `ocs serve`
/// creates a database: elsewhere a missing one is an error, not an empty table and a new file.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "YAML file of settings (also OCS_CONFIG); see ocs config show.")
    var configFile: String?

    @Option(name: .customLong("db"), help: "SQLite database file (also OCS_DB, or 'db' in --config). [default: data/ocs.sqlite]")
    var path: String?

    static let defaultPath = "data/ocs.sqlite"

    /// The settings from the environment and the configuration file.
    func settings() throws(SettingError) -> SettingsReader {
        try SettingsReader(configFile: configFile)
    }

    /// The database path from the command line, `OCS_DB`, the configuration file or the default.
    func resolvedPath(_ settings: inout SettingsReader) -> String {
        settings.text(.db, path, default: Self.defaultPath) ?? Self.defaultPath
    }

    /// Opens the existing database.
    func open() throws -> OCSDatabase {
        var settings = try settings()
        return try Self.open(resolvedPath(&settings), creating: false)
    }

    /// The application's stores and operations on the existing database.
    func operations() throws -> Operations {
        Operations(database: try open())
    }

    /// Opens the database at `path`, creating it (and its folder) only when `creating`.
    static func open(_ path: String, creating: Bool) throws -> OCSDatabase {
        if !creating && !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure("no database at \(path): give the right --db (or OCS_DB), or start 'ocs serve' once to create it there")
        }
        do {
            return try OCSDatabase(path: path)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
