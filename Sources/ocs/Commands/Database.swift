import ArgumentParser
import Foundation
import OCSPostgres
import OCSStorage

/// `ocs db`: the database itself.
struct Database: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Move the database to another engine.",
        subcommands: [DatabaseCopy.self]
    )
}

/// `ocs db copy --to postgres://...`: an SQLite installation moved to PostgreSQL.
struct DatabaseCopy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy the SQLite database into an empty PostgreSQL database, then verify it.",
        discussion: """
            Copies everything: rules, revisions, the audit trail, tokens, sessions, groups, the \
            build catalog, hosts and their history, the rule-set serial and the signing identity, \
            keeping every id. The copy is one PostgreSQL transaction (all or nothing) read from one \
            snapshot of the SQLite file; then every table is counted on both sides and the serial \
            compared. A PostgreSQL database that holds anything is refused. Stop the servers on the \
            SQLite file first: what they record during the copy would not be copied.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The empty PostgreSQL database: postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full.")
    var to: String

    @Option(
        name: .customLong("to-password-file"),
        help: "File whose first line is that database's password (or the password itself in OCS_DATABASE_PASSWORD)."
    )
    var toPasswordFile: String?

    func run() throws {
        var settings = try database.settings()
        let source = try database.resolvedLocation(&settings)
        guard case .sqlite = source else {
            throw CommandFailure("--database names \(source): ocs db copy copies an SQLite database into PostgreSQL")
        }
        let target: DatabaseLocation
        do {
            target = try DatabaseLocation(parsing: to)
        } catch {
            throw CommandFailure("--to is not a database: \(error.description)")
        }
        guard case .postgres = target else {
            throw CommandFailure("--to names \(target): ocs db copy copies into a PostgreSQL database (postgres://...)")
        }
        let password = try DatabaseOptions.password(file: toPasswordFile, fileNamedBy: "--to-password-file")
        let from = try DatabaseOptions.open(source, password: nil, creating: false)
        let into = try DatabaseOptions.open(target, password: password, creating: false)
        let report: SQLiteToPostgresCopy.Report
        do {
            report = try SQLiteToPostgresCopy(from: from, to: into).run()
        } catch {
            throw CommandFailure("\(target): \(error.description)")
        }
        print(TextTable(header: ["TABLE", "ROWS"], rows: report.tables.map { [$0.name, String($0.rows)] }).rendered, terminator: "")
        print("copied \(source) into \(target) and verified: every table holds the same rows, the rule set is at serial \(report.serial)")
    }
}
