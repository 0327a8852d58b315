import ArgumentParser
import Foundation
import Logging
import OCSOperations
import OCSPostgres
import OCSStorage

/// `--config`, `--database` (or `--db`) and `--database-password-file`, shared by every
/// subcommand that touches data. `--database` names an SQLite file (the default) or a PostgreSQL
/// server. Only `ocs serve` creates an SQLite file: elsewhere a missing one is an error, not an
/// empty table and a new file.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "YAML file of settings (also OCS_CONFIG); see ocs config show.")
    var configFile: String?

    @Option(
        name: [.customLong("database"), .customLong("db")],
        help: "sqlite:PATH (or a bare path), or postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full (also OCS_DATABASE, or 'database' in --config). [default: data/ocs.sqlite]"
    )
    var location: String?

    @Option(
        name: .customLong("database-password-file"),
        help: "File whose first line is the PostgreSQL password (also OCS_DATABASE_PASSWORD_FILE, 'databasePasswordFile' in --config, or the password itself in OCS_DATABASE_PASSWORD)."
    )
    var passwordFile: String?

    /// The environment variable that may hold the password itself, as a container platform's
    /// secret injection sets it. Never a command-line option: that would show in process lists.
    static let passwordVariable = "OCS_DATABASE_PASSWORD"

    static let defaultPath = "data/ocs.sqlite"

    /// The settings from the environment and the configuration file.
    func settings() throws(SettingError) -> SettingsReader {
        try SettingsReader(configFile: configFile)
    }

    /// The database from the command line, `OCS_DATABASE`, the configuration file or the default;
    /// `OCS_DB` and `db`, its former names, are read too, and refused when they name another.
    func resolvedLocation(_ settings: inout SettingsReader) throws -> DatabaseLocation {
        let named = settings.optionalText(.database, location, shownDefault: Self.defaultPath)
        let former = settings.optionalText(.db, nil, shownDefault: "none")
        if let named, let former, named != former {
            throw CommandFailure("\(Setting.database.places) names \(named), but \(Setting.db.environmentVariable) or 'db', its former name, names \(former): keep one")
        }
        let text = named ?? former ?? Self.defaultPath
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw CommandFailure("\(Setting.database.places) is not a database: \(error.description)")
        }
    }

    /// The database's password: the first line of the password file, or `OCS_DATABASE_PASSWORD`.
    func password(_ settings: inout SettingsReader, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        try Self.password(file: settings.text(.databasePasswordFile, passwordFile), fileNamedBy: Setting.databasePasswordFile.places, environment: environment)
    }

    /// The first line of `file`, or `OCS_DATABASE_PASSWORD`; both are refused (`fileNamedBy`
    /// says where the file was named), and so are an unreadable or empty file.
    static func password(file: String?, fileNamedBy: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        let variable = environment[passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let file else { return variable }
        guard variable == nil else {
            throw CommandFailure("both \(fileNamedBy) and \(passwordVariable) give the database password: keep one")
        }
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
                throw CommandFailure("no database at \(path): give the right --database (or OCS_DATABASE), or start 'ocs serve' once to create it there")
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
