import ArgumentParser
import Foundation
import OCSDomain
import OCSFeed
import OCSSigning
import OCSStorage
import Logging

/// `ocs feed`: prints the exact document a host on a build (and, for staged rules, with a name,
/// serverId or org) receives, by the server's code path: on a disconnected site, the document of
/// its imported bundle.
struct Feed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the feed a host on a build receives.")

    @Option(help: "The host's build: 15.2.1118.7 or 'Version 15.2 (Build 1118.7)'. Without it: rules for every build only.")
    var build: String?

    @Option(help: "The host's name, as its poll sends it: decides the host groups it is in (staged rules).")
    var server: String?

    @Option(help: "The host's serverId GUID, as its poll sends it.")
    var serverId: String?

    @Option(help: "The host's organization GUID, as its poll sends it.")
    var orgId: String?

    @OptionGroup var database: DatabaseOptions

    @OptionGroup var signing: SigningOptions

    @Option(help: "Seconds the printed feed is valid, as ocs serve's --feed-validity. [default: 86400]")
    var feedValidity: Int?

    func run() async throws {
        // Checked as the feed checks a poll's parameters.
        let items: [(name: String, value: String?)] = [("build", build), ("server", server), ("serverId", serverId), ("orgId", orgId)]
            .compactMap { name, value in value.map { (name, $0) } }
        let query: FeedQuery
        do {
            query = try FeedQuery(items: items)
        } catch {
            throw CommandFailure(error.description)
        }
        let host = query.pollingHost
        var settings = try database.settings()
        let validity = try settings.integer(.feedValidity, feedValidity, default: Int(FeedService.defaultValidity), in: ServeSettings.feedValidityRange)
        let db = try DatabaseOptions.open(database.resolvedLocation(&settings), password: database.password(&settings), creating: false)
        // Warnings go to stderr; stdout carries only the document.
        let logger = Logger(label: "ocs") { StreamLogHandler.standardError(label: $0) }
        // A disconnected site's database serves its imported bundle: no key there, none made.
        let bundles = BundleStore(database: db)
        let signer = try bundles.summary() != nil
            ? nil : FeedSigner(identity: await signing.resolve(&settings).identity(for: db, recording: false, logger: logger))
        let feed = try FeedService(store: RuleStore(database: db), signer: signer, bundles: bundles, validity: TimeInterval(validity))
            .feed(for: query.build, host: host)
        FileHandle.standardOutput.write(Data(feed.body))
    }
}
