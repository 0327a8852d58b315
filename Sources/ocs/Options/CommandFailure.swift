import OCSOperations

/// A failure to report to the user as one message, exiting non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    static func noSuchRule(_ id: String) -> CommandFailure {
        CommandFailure("no rule with id '\(id)': `ocs rules list` shows the ids")
    }

    /// An operation's refusal, worded for the command line: its options, its commands.
    init(_ error: OperationError) {
        switch error {
        case .rule(.notFound(let id)): self = .noSuchRule(id)
        case .rule(.releaseRequired(let id, let state)):
            self.init("rule \(id) is \(state): say who receives it, --to GROUPS (a staged rollout) or --everyone")
        case .emergencyNeedsReason: self.init("--emergency needs --reason: the incident or ticket id")
        case .catalog(.needsApproval(let rules)):
            self.init("nothing was added: require-approval is on and these builds change which builds published rules apply to (\(rules.joined(separator: ", "))): add them alone as an emergency, --emergency --reason INCIDENT (audited)")
        default: self.init(error.description)
        }
    }
}
