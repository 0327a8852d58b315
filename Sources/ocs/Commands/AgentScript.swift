import ArgumentParser

struct AgentScript: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "script", abstract: "Not yet.")
}
