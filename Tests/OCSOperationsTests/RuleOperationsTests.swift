import OCSDomain
import OCSOperations
import OCSStorage
import OCSTestSupport
import Testing

/// The rule lifecycle as every front end performs it, on an in-memory database.
struct RuleOperationsTests {
    let alice = ChangeContext(actor: "alice", reason: "INC-7")
    let bob = ChangeContext(actor: "bob")

    static func rule(_ id: String, _ description: String = "d") -> Mitigation {
        Mitigation(id: id, description: description, state: .draft, actions: [.doNothing(description: nil)])
    }

    @Test func aPublishReturnsTheSerialItCommitted() throws {
        let operations = Operations(database: try TestDatabase.fresh())
        let before = try operations.rules.serial()
        _ = try operations.lifecycle.save(Self.rule("R"), expectedRevision: nil, context: alice)
        guard case .applied(let change) = try operations.lifecycle.publish("R", to: .everyone, .init(context: alice, role: .publisher)) else {
            Issue.record("approval is off: applied at once"); return
        }
        #expect(change.serial == before + 1)
        #expect(change.serial == (try operations.rules.serial()))
        #expect(change.record.rule.state == .published && change.record.release == .everyone)
    }

    /// The release rule is the operation's, judged in its transaction for every front end: a rule
    /// not published must be given one, the refusal is audited, and nothing changes.
    @Test func aRuleNotPublishedMustBeGivenARelease() throws {
        let operations = Operations(database: try TestDatabase.fresh())
        _ = try operations.lifecycle.save(Self.rule("R"), expectedRevision: nil, context: alice)
        let serial = try operations.rules.serial()
        #expect(throws: OperationError.rule(.releaseRequired(id: "R", state: "draft"))) {
            try operations.lifecycle.publish("R", to: nil, .init(context: alice, role: .publisher))
        }
        #expect(try operations.rules.record(id: "R")?.rule.state == .draft)
        #expect(try operations.rules.serial() == serial)
        let audit = try operations.audit.entries(AuditLog.Filter(ruleID: "R")).items
        #expect(audit.last?.action == "rule.publish" && audit.last?.outcome.hasPrefix("refused: rule R is draft") == true)
    }

    @Test func anEmergencyIsAnAdminsWithAReason() throws {
        let operations = Operations(database: try TestDatabase.fresh())
        _ = try operations.lifecycle.save(Self.rule("R"), expectedRevision: nil, context: alice)
        try operations.lifecycle.setRequireApproval(true, context: alice)
        #expect(throws: OperationError.emergencyNeedsAdmin(actor: "alice", role: .publisher)) {
            try operations.lifecycle.publish("R", to: .everyone, .init(context: alice, role: .publisher, emergency: true))
        }
        #expect(throws: OperationError.emergencyNeedsReason) {
            try operations.lifecycle.publish("R", to: .everyone, .init(context: bob, role: .admin, emergency: true))
        }
        guard case .applied(let change) = try operations.lifecycle.publish("R", to: .everyone, .init(context: alice, role: .admin, emergency: true)) else {
            Issue.record("an admin's emergency with a reason applies at once"); return
        }
        #expect(change.record.rule.state == .published)
    }

    /// Issue 19's approval bypass, through the operations: while A's change waits, B cannot delete
    /// the rule and put other content under its id; the approval serves what A asked for.
    @Test func aPendingChangeKeepsTheContentItWasAskedFor() throws {
        let operations = Operations(database: try TestDatabase.fresh())
        let lifecycle = operations.lifecycle
        _ = try lifecycle.save(Self.rule("M20", "narrow"), expectedRevision: nil, context: alice)
        try lifecycle.setRequireApproval(true, context: alice)
        guard case .pending(let change) = try lifecycle.publish("M20", to: .everyone, .init(context: alice, role: .publisher)) else {
            Issue.record("pending expected"); return
        }
        #expect(throws: OperationError.rule(.pendingChange(id: "M20", change: change.id))) {
            try lifecycle.delete("M20", expectedRevision: nil, context: bob)
        }
        #expect(throws: OperationError.decision(.ownChange(change.id, author: "alice"))) { try lifecycle.approve(change.id, context: alice) }
        let applied = try lifecycle.approve(change.id, context: bob)
        #expect(applied.record.rule.description == "narrow")
        #expect(applied.serial == (try operations.rules.serial()))
    }

    @Test func aRejectedChangeIsReturnedAsDecided() throws {
        let operations = Operations(database: try TestDatabase.fresh())
        _ = try operations.lifecycle.save(Self.rule("R"), expectedRevision: nil, context: alice)
        try operations.lifecycle.setRequireApproval(true, context: alice)
        guard case .pending(let change) = try operations.lifecycle.retire("R", .init(context: alice, role: .publisher)) else {
            Issue.record("pending expected"); return
        }
        let rejected = try operations.lifecycle.reject(change.id, context: bob)
        #expect(rejected.state == .rejected && rejected.decidedBy == "bob")
        #expect(throws: OperationError.decision(.notFound(999))) { try operations.lifecycle.reject(999, context: bob) }
    }
}
