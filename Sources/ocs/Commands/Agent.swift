import ArgumentParser

/// `ocs agent`: the agent side of the protocol, for hosts whose EM service cannot trust the organization's key.
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enroll, poll once or keep polling as an EM-compatible agent, write EOMT-style scripts from a feed, or write the agent for Windows.",
        subcommands: [AgentEnroll.self, AgentPoll.self, AgentRun.self, AgentScript.self, AgentWindows.self]
    )
}
