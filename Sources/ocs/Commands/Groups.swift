import ArgumentParser

/// `ocs groups`: host groups for staged rollouts.
struct Groups: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, show and delete host groups (the stages of a staged rollout).",
        subcommands: [GroupsCreate.self, GroupsList.self, GroupsShow.self, GroupsDelete.self]
    )
}
