import ArgumentParser

/// `ocs`: a self-hosted Office Config Service for Exchange Emergency Mitigation.
@main
struct OCS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocs",
        abstract: "A self-hosted Office Config Service for the Exchange Emergency Mitigation service.",
        version: OCSVersion.current,
        subcommands: [Serve.self, Rules.self, Feed.self, Verify.self, Hosts.self, Fleet.self, Audit.self, Tokens.self, Groups.self, Changes.self, Policy.self, Keys.self, Builds.self, Config.self, Agent.self, Simulate.self]
    )
}
