import Crypto
import Foundation
import OCSDomain

/// A change applied: the rule as it stands after it, and the rule-set serial its transaction
/// committed (read inside it, so the server serves the change without another read).
public struct AppliedChange: Sendable, Equatable {
    public let record: RuleRecord
    public let serial: Int64

    public init(record: RuleRecord, serial: Int64) {
        self.record = record
        self.serial = serial
    }
}

/// What submitting a change did.
public enum ChangeOutcome: Sendable, Equatable {
    /// Applied now: approval is off, or it was an emergency.
    case applied(AppliedChange)
    /// Waiting for another publisher or admin.
    case pending(PendingChange)
}

/// Two-person approval: the `require-approval` policy, and the changes it holds until someone
/// other than their author approves them. Every decision is audited; an approval applies the
/// change in the same transaction.
public struct ChangeStore: Sendable {
    let database: any SQLDatabase
    /// The clock; tests pass one to see changes expire.
    let now: @Sendable () -> Date

    /// How long a change waits for approval.
    public static let lifetime: TimeInterval = 24 * 60 * 60
    /// The policy's name.
    public static let requireApproval = "require-approval"

    public init(database: any SQLDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    // MARK: Policy

    /// Whether publish, promote, retire and rollback wait for a second person.
    public func requiresApproval() throws -> Bool {
        try database.read { db in try Self.requiresApproval(db) }
    }

    /// Turns `require-approval` on or off (audited as `policy.set`).
    public func setRequireApproval(_ on: Bool, context: ChangeContext) throws {
        try database.write { db in
            try db.execute(
                """
                    INSERT INTO policies (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by
                    """,
                [Self.requireApproval, on ? "on" : "off", DatabaseTimestamp(now()), context.actor]
            )
            try AuditLog.append(AuditEntry(context: context, action: "policy.set", ruleID: nil, revision: nil, outcome: "ok: \(Self.requireApproval) \(on ? "on" : "off")"), in: db)
        }
    }

    static func requiresApproval(_ db: any SQLTransaction) throws -> Bool {
        try db.value(String.self, "SELECT value FROM policies WHERE name = ?", [requireApproval]) == "on"
    }

    // MARK: Changes

    /// Applies `request` now when approval is off (or `emergency`, which needs a reason), else
    /// records it as pending, after checking it could be applied now. One transaction; audited.
    /// `expectedRevision`, when given, must be the rule's latest revision (an `If-Match`). A publish
    /// that takes the rule from hosts that have it applied is refused unless `narrow` (see
    /// `RuleStore.publish`); one that waits for approval is checked so now, and its approver allows it.
    public func submit(_ request: RuleChangeRequest, expectedRevision: Int? = nil, narrow: Bool = false, context: ChangeContext, emergency: Bool = false) throws(RuleChangeError) -> ChangeOutcome {
        let time = now()
        do {
            return try database.write { db in
                if emergency && context.reason == nil {
                    throw RuleChangeError.conflict("an emergency change needs a reason: give the incident or ticket id")
                }
                guard try Self.requiresApproval(db), !emergency else {
                    let (record, revision) = try Self.apply(request, expectedRevision: expectedRevision, narrow: narrow, reason: context.reason, time: time, in: db)
                    let notes = [emergency ? "emergency" : nil, narrow ? "narrowing allowed" : nil, record.release.map { "released to \($0)" }].compactMap { $0 }
                    try RuleStore.audit(request.auditAction, request.ruleID, revision, context, time, db, outcome: notes.isEmpty ? "ok" : "ok: " + notes.joined(separator: ", "))
                    return .applied(AppliedChange(record: record, serial: try RuleStore.serial(db)))
                }
                guard let existing = try RuleStore.record(db, id: request.ruleID) else { throw RuleChangeError.notFound(request.ruleID) }
                // Refuse now what could not be applied now (unknown groups, nothing to change).
                try db.inSavepoint {
                    _ = try Self.apply(request, expectedRevision: expectedRevision, narrow: narrow, reason: context.reason, time: time, in: db)
                    return .rollback
                }
                let resolved = try Self.resolved(request, existing)
                let (revision, release) = try Self.columns(resolved)
                let changeID = try db.insert(
                    """
                        INSERT INTO pending_changes (action, rule_id, revision, release_groups, base_revision, base_state, content_digest, author, reason, created_at, expires_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                        """,
                    [
                        resolved.kind, resolved.ruleID, revision, release, existing.latestRevision, Self.baseState(existing),
                        try Self.contentDigest(of: resolved, in: db), context.actor, context.reason,
                        DatabaseTimestamp(time), DatabaseTimestamp(time.addingTimeInterval(Self.lifetime)),
                    ]
                )
                let change = try Self.change(db, id: changeID, at: time)!
                try AuditLog.append(AuditEntry(
                    time: time, context: context, action: "change.request", ruleID: request.ruleID, revision: existing.latestRevision,
                    outcome: "ok: change \(change.id) pending: \(resolved.summary)"
                ), in: db)
                return .pending(change)
            }
        } catch {
            let failure = (error as? RuleChangeError) ?? .storage("\(error)")
            try? AuditLog(database: database).append(AuditEntry(
                time: time, context: context, action: request.auditAction, ruleID: request.ruleID, revision: nil, outcome: "refused: \(failure.description)"
            ))
            throw failure
        }
    }

    /// Applies a pending change for someone other than its author, if the rule has not moved
    /// since and it has not expired. Audits the approval and the change.
    @discardableResult
    public func approve(_ id: Int64, context: ChangeContext) throws(ChangeDecisionError) -> AppliedChange {
        let applied = try decide(id, action: "change.approve", context: context) { change, db, time in
            // Another change applied since this one was asked for (a publish, promote, retire or
            // rollback moves no revision): approving it now would act on a rule its author never saw.
            let asked = try db.value(String.self, "SELECT base_state FROM pending_changes WHERE id = ?", [id])
            // (A new revision is refused as stale by `apply`, below.)
            if let current = try RuleStore.record(db, id: change.request.ruleID), current.latestRevision == change.baseRevision,
               asked != Self.baseState(current) {
                throw RuleChangeError.conflict(
                    "rule \(change.request.ruleID) has changed since change \(id) was asked for (it was \(asked ?? "unrecorded"), it is \(Self.baseState(current))): reject it and ask again"
                )
            }
            // The content reviewed is the content applied: a revision number or state string can be
            // made to match again (a rule deleted and put anew), the digest of the content cannot.
            let reviewed = try db.value(String.self, "SELECT content_digest FROM pending_changes WHERE id = ?", [id])
            guard let reviewed else {
                throw RuleChangeError.conflict("change \(id) was asked for before changes were bound to their content: reject it and ask again")
            }
            guard try Self.contentDigest(of: change.request, in: db) == reviewed else {
                throw RuleChangeError.conflict("the content of rule \(change.request.ruleID) is not what change \(id) was asked for: reject it and ask again")
            }
            // Approved by a second person, who saw what it changes: a narrowing is theirs to allow,
            // for the reason its author gave (or theirs).
            let (record, revision) = try Self.apply(
                change.request, expectedRevision: change.baseRevision, narrow: true, reason: change.reason ?? context.reason, time: time, in: db
            )
            try db.execute(
                "UPDATE pending_changes SET state = 'approved', decided_by = ?, decided_at = ? WHERE id = ?",
                [context.actor, DatabaseTimestamp(time), id]
            )
            let released = record.release.map { ", released to \($0)" } ?? ""
            try RuleStore.audit(change.request.auditAction, change.request.ruleID, revision, context, time, db, outcome: "ok: change \(id) by \(change.author) approved\(released)")
            return AppliedChange(record: record, serial: try RuleStore.serial(db))
        }
        guard let applied else { throw .rule(.storage("the approved change left no rule")) }
        return applied
    }

    /// Refuses a pending change; anyone who may approve it may reject it, its author too.
    public func reject(_ id: Int64, context: ChangeContext) throws(ChangeDecisionError) {
        _ = try decide(id, action: "change.reject", context: context, authorMay: true) { _, db, time in
            try db.execute(
                "UPDATE pending_changes SET state = 'rejected', decided_by = ?, decided_at = ? WHERE id = ?",
                [context.actor, DatabaseTimestamp(time), id]
            )
            return nil
        }
    }

    /// One change.
    public func change(_ id: Int64) throws -> PendingChange? {
        let time = now()
        return try database.read { db in try Self.change(db, id: id, at: time) }
    }

    /// A page of changes, oldest first; optionally only those in `state`.
    public func changes(state: PendingChange.State? = nil, page: PageRequest = PageRequest()) throws -> Page<PendingChange> {
        let time = now()
        var condition = ""
        var arguments: [(any SQLValueConvertible)?] = [page.cursor?.key ?? 0]
        switch state {
        case nil: break
        case .pending: condition = "AND state = 'pending' AND expires_at >= ?"; arguments.append(DatabaseTimestamp(time))
        case .expired: condition = "AND state = 'pending' AND expires_at < ?"; arguments.append(DatabaseTimestamp(time))
        case .approved, .rejected: condition = "AND state = ?"; arguments.append(state?.rawValue)
        }
        arguments.append(page.limit + 1)
        let rows = try database.read { db in
            try db.rows("SELECT * FROM pending_changes WHERE id > ? \(condition) ORDER BY id LIMIT ?", SQLArguments(arguments))
                .map { try Self.change($0, at: time) }
        }
        return Page(reading: rows, limit: page.limit, kind: .changes, key: \.id)
    }

    // MARK: Internals

    private func decide(
        _ id: Int64, action: String, context: ChangeContext, authorMay: Bool = false,
        _ body: @escaping (PendingChange, any SQLTransaction, Date) throws -> AppliedChange?
    ) throws(ChangeDecisionError) -> AppliedChange? {
        let time = now()
        var ruleID: String?
        do {
            return try database.write { db in
                guard let change = try Self.change(db, id: id, at: time) else { throw ChangeDecisionError.notFound(id) }
                ruleID = change.request.ruleID
                switch change.state {
                case .pending: break
                case .expired: throw ChangeDecisionError.expired(id, at: change.expiresAt)
                case .approved, .rejected: throw ChangeDecisionError.decided(id, change.state, by: change.decidedBy ?? "-")
                }
                if !authorMay && change.author == context.actor { throw ChangeDecisionError.ownChange(id, author: change.author) }
                let record = try body(change, db, time)
                try AuditLog.append(AuditEntry(
                    time: time, context: context, action: action, ruleID: change.request.ruleID, revision: change.baseRevision,
                    outcome: "ok: change \(id) (\(change.request.summary), asked by \(change.author))"
                ), in: db)
                return record
            }
        } catch {
            let failure: ChangeDecisionError = switch error {
            case let decision as ChangeDecisionError: decision
            case let rule as RuleChangeError: .rule(rule)
            default: .rule(.storage("\(error)"))
            }
            try? AuditLog(database: database).append(AuditEntry(
                time: time, context: context, action: action, ruleID: ruleID, revision: nil, outcome: "refused: \(failure.description)"
            ))
            throw failure
        }
    }

    /// What approval compares: the rule's state, served revision and release, e.g.
    /// `published 3 groups canary`.
    static func baseState(_ record: RuleRecord) -> String {
        "\(record.rule.state.rawValue) \(record.revision) \(record.release.map { "\($0)" } ?? "unreleased")"
    }

    /// SHA-256 of the content `request` acts on, hex: the revision a publish serves (resolved
    /// requests name it), else the rule's current content. Nil when there is none.
    static func contentDigest(of request: RuleChangeRequest, in db: any SQLTransaction) throws -> String? {
        let content: String? = switch request {
        case .publish(let id, let revision?, _): try RuleStore.revisionContent(db, id: id, revision: revision)
        case .publish(let id, nil, _), .promote(let id, _), .retire(let id):
            try db.value(String.self, "SELECT content FROM rules WHERE id = ?", [id])
        }
        return content.map { SHA256.hash(data: Data($0.utf8)).map { String(format: "%02x", $0) }.joined() }
    }

    private static func apply(
        _ request: RuleChangeRequest, expectedRevision: Int?, narrow: Bool, reason: String?, time: Date, in db: any SQLTransaction
    ) throws -> (RuleRecord, Int) {
        switch request {
        case .publish(let id, let revision, let release):
            try RuleStore.applyPublish(id: id, revision: revision, to: release, expectedRevision: expectedRevision, narrow: narrow, reason: reason, time: time, in: db)
        case .promote(let id, let release):
            try RuleStore.applyPromote(id: id, to: release, expectedRevision: expectedRevision, time: time, in: db)
        case .retire(let id):
            try RuleStore.applyRetire(id: id, expectedRevision: expectedRevision, narrow: narrow, reason: reason, time: time, in: db)
        }
    }

    /// The request with what it left to the moment made explicit: the revision and release a
    /// publish meant when it was asked for.
    private static func resolved(_ request: RuleChangeRequest, _ existing: RuleRecord) throws(RuleChangeError) -> RuleChangeRequest {
        guard case .publish(let id, let revision, let release) = request else { return request }
        return .publish(id: id, revision: revision ?? existing.latestRevision, release: try RuleStore.release(release, publishing: existing))
    }

    private static func columns(_ request: RuleChangeRequest) throws -> (revision: Int?, release: String?) {
        switch request {
        case .publish(_, let revision, let release): (revision, try release.flatMap(RuleStore.stored))
        case .promote(_, let release): (nil, try RuleStore.stored(release))
        case .retire: (nil, nil)
        }
    }

    private static func change(_ db: any SQLTransaction, id: Int64, at time: Date) throws -> PendingChange? {
        try db.row("SELECT * FROM pending_changes WHERE id = ?", [id]).map { try change($0, at: time) }
    }

    private static func change(_ row: SQLRow, at time: Date) throws -> PendingChange {
        let ruleID: String = try row["rule_id"]
        let release = try RuleStore.release(try row["release_groups"], id: ruleID)
        let request: RuleChangeRequest = switch try row["action"] as String {
        case "publish": .publish(id: ruleID, revision: try row["revision"], release: release)
        case "promote": .promote(id: ruleID, release: release)
        default: .retire(id: ruleID)
        }
        let expiresAt: Date = try row["expires_at"]
        var state = PendingChange.State(rawValue: try row["state"]) ?? .pending
        if state == .pending && expiresAt < time { state = .expired }
        return PendingChange(
            id: try row["id"], request: request, baseRevision: try row["base_revision"], author: try row["author"], reason: try row["reason"],
            createdAt: try row["created_at"], expiresAt: expiresAt, state: state, decidedBy: try row["decided_by"], decidedAt: try row["decided_at"]
        )
    }
}

/// Why approving or rejecting a change was refused; each maps to one HTTP status.
public enum ChangeDecisionError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(Int64)
    case ownChange(Int64, author: String)
    case expired(Int64, at: Date)
    case decided(Int64, PendingChange.State, by: String)
    /// Applying the change was refused (the rule moved since, say).
    case rule(RuleChangeError)

    public var description: String {
        switch self {
        case .notFound(let id): "no change \(id): `ocs changes list` shows them"
        case .ownChange(let id, let author): "change \(id) was asked for by \(author): another publisher or admin must approve it"
        case .expired(let id, let time): "change \(id) expired at \(time.formatted(.iso8601)) unapproved: ask for it again"
        case .decided(let id, let state, let by): "change \(id) was \(state.rawValue) by \(by) already"
        case .rule(.stale(let id, let expected, let latest)):
            "rule \(id) moved since the change was asked for (revision \(latest), not \(expected)): reject it and ask again"
        case .rule(let error): error.description
        }
    }
}
