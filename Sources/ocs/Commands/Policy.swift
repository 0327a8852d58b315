import ArgumentParser

/// `ocs policy`: server-wide policies.
struct Policy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and set server policies (require-approval).",
        subcommands: [PolicyShow.self, PolicySet.self]
    )
}
