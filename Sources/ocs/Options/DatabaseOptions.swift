import ArgumentParser
import Foundation
import Logging
import OCSOperations
import OCSPostgres
import OCSStorage

/// `--config`, `--db` and `--db-password-file`, shared by every subcommand that touches data.
/// `--db` names an SQLite file (the default) or a PostgreSQL server. Only `ocs serve` creates an
/// SQLite file: elsewhere a missing one is an error, not an empty table and a new file.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "YAML file of settings (also OCS_CONFIG); see ocs config show.")
    var configFile: String?

    @Option(
        name: .customLong("db"),
        help: "SQLite database file, or postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full (also OCS_DB, or 'db' in --config). [default: data/ocs.sqlite]"
    )
    var location: String?

    @Option(name: .customLong("db-password-file"), help: "File holding the PostgreSQL password (also OCS_DB_PASSWORD_FILE, or 'dbPasswordFile' in --config).")
    var passwordFile: String?

    static let defaultPath = "data/ocs.sqlite"

    /// The settings from the environment and the configuration file.
    func settings() throws(SettingError) -> SettingsReader {
        try SettingsReader(configFile: configFile)
    }

    /// The database from the command line, `OCS_DB`, the configuration file or the default.
    func resolvedLocation(_ settings: inout SettingsReader) throws -> DatabaseLocation {
        let text = settings.text(.db, location, default: Self.defaultPath) ?? Self.defaultPath
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw CommandFailure("\(Setting.db.places) is not a database: \(error.description)")
        }
    }

    /// The database's password: the first line of the password file, when one is set.
    func password(_ settings: inout SettingsReader) throws -> String? {
        guard let file = settings.text(.dbPasswordFile, passwordFile) else { return nil }
        let contents: String
        do {
            contents = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CommandFailure("cannot read the database password file \(file): \(error.localizedDescription)")
        }
        guard let line = contents.split(separator: "\n", omittingEmptySubsequences: false).first, !line.isEmpty else {
            throw CommandFailure("the database password file \(file) is empty")
        }
        return String(line.hasSuffix("\r") ? line.dropLast() : line)
    }

    /// Opens the existing database.
    func open() throws -> any SQLDatabase {
        var settings = try settings()
        return try Self.open(resolvedLocation(&settings), password: password(&settings), creating: false)
    }

    /// The application's stores and operations on the existing database.
    func operations() throws -> Operations {
        Operations(database: try open())
    }

    /// Opens the database at `location`, migrated to this binary's schema. An SQLite file (and
    /// its folder) is created only when `creating`; a PostgreSQL database must exist (its tables
    /// are created in it).
    static func open(_ location: DatabaseLocation, password: String?, creating: Bool) throws -> any SQLDatabase {
        switch location {
        case .sqlite(let path):
            if !creating && !FileManager.default.fileExists(atPath: path) {
                throw CommandFailure("no database at \(path): give the right --db (or OCS_DB), or start 'ocs serve' once to create it there")
            }
            do {
                return try OCSDatabase(path: path)
            } catch {
                throw CommandFailure(error.description)
            }
        case .postgres(let postgres):
            let logger = Logger(label: "ocs.postgres") { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .warning
                return handler
            }
            do {
                return try PostgresDatabase(postgres, password: password, logger: logger)
            } catch {
                throw CommandFailure("\(postgres): \(error.description)")
            }
        }
    }

    /// Whether the database exists, for commands that work without one.
    static func exists(_ location: DatabaseLocation) -> Bool {
        switch location {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }
}
