import ArgumentParser
import Foundation
import OCSDomain

/// `ocs`: a self-hosted Office Config Service for Exchange Emergency Mitigation.
@main
struct OCS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocs",
        abstract: "A self-hosted Office Config Service for the Exchange Emergency Mitigation service.",
        version: OCSVersion.current,
        subcommands: [Serve.self, Rules.self, Feed.self, Verify.self, Hosts.self, Fleet.self, Audit.self, Tokens.self, Enrollment.self, Groups.self, Changes.self, Policy.self, Keys.self, Builds.self, Upstream.self, BundleCommand.self, Database.self, Config.self, Agent.self, Simulate.self]
    )

    /// argument-parser's `main`, plus a hint after its error when a subcommand's name was mistyped.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(arguments)
        } catch {
            guard let hint = mistypedSubcommandHint(arguments) else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n" + hint + "\n").utf8))
            exit(withError: exitCode(for: error))
        }
        do {
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// "did you mean 'publish'?" when the first word that is neither a subcommand nor an option
    /// stands where a subcommand must, and is near one of the names there (`ocs rules pubish M1`).
    static func mistypedSubcommandHint(_ arguments: [String]) -> String? {
        var current: any ParsableCommand.Type = OCS.self
        var path = ["ocs"]
        for word in arguments {
            guard !word.hasPrefix("-") else { return nil }
            let subcommands = current.configuration.subcommands
            guard !subcommands.isEmpty else { return nil }
            if let next = subcommands.first(where: { names(of: $0).contains(word) }) {
                current = next
                path.append(word)
                continue
            }
            guard let suggestion = NameSuggestion.closest(to: word, in: subcommands.flatMap(names(of:))) else { return nil }
            return "did you mean '\(suggestion)'? (\((path + [suggestion]).joined(separator: " ")))"
        }
        return nil
    }

    private static func names(of command: any ParsableCommand.Type) -> [String] {
        [command.configuration.commandName ?? command._commandName] + command.configuration.aliases
    }
}
