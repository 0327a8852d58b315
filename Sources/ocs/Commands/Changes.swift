import ArgumentParser

/// `ocs changes`: changes held for two-person approval.
struct Changes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, approve and reject the changes require-approval holds back.",
        subcommands: [ChangesList.self, ChangesApprove.self, ChangesReject.self]
    )
}
