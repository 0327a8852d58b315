/// A failure to report to the user as one message, exiting non-zero.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    static func noSuchRule(_ id: String) -> CommandFailure {
        CommandFailure("no rule with id '\(id)': `ocs rules list` shows the ids")
    }
}
