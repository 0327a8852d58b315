import OCSDomain
import OCSStorage

/// The rule lifecycle as every front end performs it: save a draft, delete one, publish (or roll
/// back), promote and retire through two-person approval, decide pending changes, set the policy.
/// Each operation is one store transaction that validates, writes and audits (a refusal is audited
/// too); those that change what the feed serves return the serial they committed. Blocking: call
/// off event loops.
public struct RuleOperations: Sendable {
    let rules: RuleStore
    let changes: ChangeStore

    public init(rules: RuleStore, changes: ChangeStore) {
        self.rules = rules
        self.changes = changes
    }

    /// Who asks for a change that two-person approval may hold back, and whether it is an emergency
    /// (applied alone, audited as such: an admin's, with a reason).
    public struct Request: Sendable {
        public var context: ChangeContext
        public var role: Role
        public var emergency: Bool
        /// `If-Match`, or the revision a form was shown: the rule's latest revision must be it.
        public var expectedRevision: Int?

        public init(context: ChangeContext, role: Role, emergency: Bool = false, expectedRevision: Int? = nil) {
            self.context = context
            self.role = role
            self.emergency = emergency
            self.expectedRevision = expectedRevision
        }
    }

    /// Stores `rule` as a new draft revision; says whether it created the rule.
    public func save(_ rule: Mitigation, expectedRevision: Int?, context: ChangeContext) throws(OperationError) -> (record: RuleRecord, created: Bool) {
        do {
            return try rules.save(rule, expectedRevision: expectedRevision, context: context)
        } catch {
            throw OperationError(error)
        }
    }

    /// Deletes a rule that was never published and has no change waiting.
    public func delete(_ id: String, expectedRevision: Int?, context: ChangeContext) throws(OperationError) {
        do {
            try rules.delete(id: id, expectedRevision: expectedRevision, context: context)
        } catch {
            throw OperationError(error)
        }
    }

    /// Publishes the latest revision, or `revision` (a rollback), to `release`. A rule not
    /// published must be given a release (`RuleChangeError.releaseRequired`); a published one keeps
    /// its own without one. Applied now, or pending under require-approval.
    /// A publish that would stop serving the rule to hosts that have it applied is refused unless
    /// `narrow` (`RuleChangeError.narrowing`, with how many).
    public func publish(_ id: String, revision: Int? = nil, to release: Release?, narrow: Bool = false, _ request: Request) throws(OperationError) -> ChangeOutcome {
        try submit(.publish(id: id, revision: revision, release: release), request, narrow: narrow)
    }

    /// Widens a published rule's release.
    public func promote(_ id: String, to release: Release, _ request: Request) throws(OperationError) -> ChangeOutcome {
        try submit(.promote(id: id, release: release), request)
    }

    /// Takes a rule out of the feed; refused while hosts have it applied unless `narrow`.
    public func retire(_ id: String, narrow: Bool = false, _ request: Request) throws(OperationError) -> ChangeOutcome {
        try submit(.retire(id: id), request, narrow: narrow)
    }

    /// Applies another person's pending change, if it still means what was reviewed.
    public func approve(_ change: Int64, context: ChangeContext) throws(OperationError) -> AppliedChange {
        do {
            return try changes.approve(change, context: context)
        } catch {
            throw OperationError(error)
        }
    }

    /// Refuses a pending change; returns it as decided.
    public func reject(_ change: Int64, context: ChangeContext) throws(OperationError) -> PendingChange {
        do {
            try changes.reject(change, context: context)
            guard let decided = try changes.change(change) else { throw ChangeDecisionError.notFound(change) }
            return decided
        } catch {
            throw OperationError(error)
        }
    }

    /// Turns two-person approval on or off.
    public func setRequireApproval(_ on: Bool, context: ChangeContext) throws(OperationError) {
        do {
            try changes.setRequireApproval(on, context: context)
        } catch {
            throw OperationError(error)
        }
    }

    private func submit(_ change: RuleChangeRequest, _ request: Request, narrow: Bool = false) throws(OperationError) -> ChangeOutcome {
        if request.emergency {
            guard request.role >= .admin else { throw .emergencyNeedsAdmin(actor: request.context.actor, role: request.role) }
            guard request.context.reason != nil else { throw .emergencyNeedsReason }
        }
        do {
            return try changes.submit(change, expectedRevision: request.expectedRevision, narrow: narrow, context: request.context, emergency: request.emergency)
        } catch {
            throw OperationError(error)
        }
    }
}
