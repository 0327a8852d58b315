import ArgumentParser
import OCSDomain

/// `ocs builds`: the embedded Exchange build catalog.
struct Builds: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Name Exchange builds from the embedded catalog.",
        subcommands: [BuildsDescribe.self]
    )
}

/// `ocs builds describe BUILD`: `Exchange 2019 CU12 Oct22SU`.
struct BuildsDescribe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Name a build, e.g. 15.2.1118.15.")

    @Argument(help: "A build: 15.2.1118.15 or 'Version 15.2 (Build 1118.15)'.")
    var build: String

    func run() throws {
        do {
            print(BuildCatalog.embedded.describe(try ExchangeBuild(parsing: build)))
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
