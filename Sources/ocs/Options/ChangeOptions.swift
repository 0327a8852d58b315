import ArgumentParser
import OCSDomain
import OCSOperations
import OCSStorage

/// `--reason TEXT` of every command that changes something: an incident or ticket id kept in
/// the audit trail with the change.
struct ReasonOption: ParsableArguments {
    @Option(help: "Why: an incident or ticket id, kept in the audit trail (at most 256 bytes, one line).")
    var reason: String?

    func validate() throws {
        if let reason, let problem = ChangeContext.problem(withReason: reason) { throw ValidationError(problem) }
    }

    /// The command line's change context (`local:` and the real user) with this reason.
    var context: ChangeContext { ChangeContext.localUser.with(reason: reason) }
}

/// `--to GROUP[,GROUP]` or `--everyone`: who a published rule is served to.
struct ReleaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Release to these host groups only (comma-separated).", valueName: "groups"))
    var to: String?

    @Flag(help: "Release to every host.")
    var everyone = false

    func validate() throws {
        if to != nil && everyone { throw ValidationError("give --to GROUPS or --everyone, not both") }
        do throws(ReleaseProblem) {
            _ = try groups
        } catch {
            throw ValidationError("--to: \(error)")
        }
    }

    /// The groups `--to` names, checked; nil without `--to`.
    private var groups: Release? {
        get throws(ReleaseProblem) {
            guard let to else { return nil }
            return try Release.groups(named: to.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        }
    }

    /// The release asked for; nil when neither option was given. Valid once `validate` passed.
    var release: Release? {
        everyone ? .everyone : (try? groups) ?? nil
    }
}

/// `--reason` and `--emergency` of the changes two-person approval may hold back: publish,
/// promote, retire, rollback.
struct ApprovalOptions: ParsableArguments {
    @OptionGroup var reason: ReasonOption

    @Flag(help: "With require-approval on: apply now, alone, audited as an emergency (needs --reason).")
    var emergency = false

    func validate() throws {
        if emergency && reason.reason == nil { throw ValidationError("--emergency needs --reason: the incident or ticket id") }
    }

    /// Performs the change through the rule lifecycle as the local user (whose access to the
    /// database makes them an admin): applied now (then `applied` reports it), or, with
    /// require-approval on, recorded as pending with its number printed.
    func perform(
        on database: any SQLDatabase,
        _ operation: (RuleOperations, RuleOperations.Request) throws(OperationError) -> ChangeOutcome,
        applied: (RuleRecord) -> Void
    ) throws {
        let outcome: ChangeOutcome
        do {
            outcome = try operation(Operations(database: database).lifecycle, .init(context: reason.context, role: .admin, emergency: emergency))
        } catch {
            throw CommandFailure(error)
        }
        switch outcome {
        case .applied(let change):
            applied(change.record)
        case .pending(let change):
            print("change \(change.id) awaits approval: \(change.request.summary) (expires \(change.expiresAt.formatted(.iso8601)); `ocs changes approve \(change.id)` by another publisher or admin)")
        }
    }
}
