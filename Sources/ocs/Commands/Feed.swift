import ArgumentParser
import Foundation
import OCSDomain
import OCSFeed
import OCSStorage

/// `ocs feed`: prints the exact document a host on a build receives, by the server's code path.
struct Feed: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the feed a host on a build receives.")

    @Option(help: "The host's build: 15.2.1118.7 or 'Version 15.2 (Build 1118.7)'. Without it: rules for every build only.")
    var build: String?

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        var query = FeedQuery()
        if let build {
            do {
                query = try FeedQuery(items: [("build", build)])
            } catch {
                throw CommandFailure(error.description)
            }
        }
        let feed = try FeedService(store: RuleStore(database: try database.open())).feed(for: query.build)
        FileHandle.standardOutput.write(Data(feed.body))
    }
}
