import ArgumentParser
import Foundation
import OCSDomain
import OCSStorage

/// `ocs builds`: the Exchange build catalog, embedded plus the rows added to the database.
struct Builds: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, name and add Exchange builds in the catalog.",
        subcommands: [BuildsList.self, BuildsDescribe.self, BuildsAdd.self, BuildsImport.self]
    )
}

/// `ocs builds describe BUILD`: `Exchange 2019 CU12 Oct22SU`.
struct BuildsDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Name a build, e.g. 15.2.1118.15.")

    @Argument(help: "A build: 15.2.1118.15 or 'Version 15.2 (Build 1118.15)'.")
    var build: String

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let parsed: ExchangeBuild
        do {
            parsed = try ExchangeBuild(parsing: build)
        } catch {
            throw CommandFailure(error.description)
        }
        print(try database.catalogInEffect().describe(parsed))
    }
}

extension DatabaseOptions {
    /// The catalog in effect: the database's rows on top of the embedded catalog when the
    /// database exists, else the embedded catalog alone (commands that work without a database).
    func catalogInEffect() throws -> BuildCatalog {
        var settings = try settings()
        let location = try resolvedLocation(&settings)
        guard Self.exists(location) else { return .embedded }
        return try CatalogStore(database: try Self.open(location, password: password(&settings), creating: false)).catalog()
    }
}
