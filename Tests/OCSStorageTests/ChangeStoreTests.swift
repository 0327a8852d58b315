import Foundation
import OCSDomain
import OCSTestSupport
import Synchronization
import Testing
@testable import OCSStorage

struct ChangeStoreTests {
    let alice = ChangeContext(actor: "alice", reason: "INC-1")
    let bob = ChangeContext(actor: "bob")

    /// A clock the test moves.
    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
    }

    @Test func aPendingChangeExpiresAfterADayAndCannotBeApproved() throws {
        let temporary = try TestDatabase()
        let clock = Clock()
        let changes = ChangeStore(database: temporary.database) { clock.now.withLock { $0 } }
        try RuleStore(database: temporary.database).put(Fixtures.rule("R", .draft, description: "one"), context: alice)
        try changes.setRequireApproval(true, context: alice)

        guard case .pending(let change) = try changes.submit(.publish(id: "R", revision: nil, release: .everyone), context: alice) else {
            Issue.record("with approval on, a publish waits"); return
        }
        #expect(change.request == .publish(id: "R", revision: 1, release: .everyone))
        #expect(change.reason == "INC-1")
        clock.advance(ChangeStore.lifetime + 1)
        #expect(try changes.change(change.id)?.state == .expired)
        #expect(try changes.changes(state: .expired).items.map(\.id) == [change.id])
        #expect(try changes.changes(state: .pending).items.isEmpty)
        #expect(throws: ChangeDecisionError.self) { try changes.approve(change.id, context: bob) }
        #expect(try RuleStore(database: temporary.database).publishedSet().rules.isEmpty)
        let audit = try AuditLog(database: temporary.database).entries().items
        #expect(audit.last?.outcome.hasPrefix("refused: change \(change.id) expired") == true)
    }

    @Test func approvalRechecksTheRuleAndAppliesInOneStep() throws {
        let temporary = try TestDatabase()
        let changes = ChangeStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        try rules.put(Fixtures.rule("R", .draft, description: "one"), context: alice)
        try HostGroupStore(database: temporary.database).create(name: "canary", selector: .names(["LAB*"]), context: alice)
        try changes.setRequireApproval(true, context: alice)

        guard case .pending(let first) = try changes.submit(.publish(id: "R", revision: nil, release: .to(["canary"])), context: alice) else {
            Issue.record("pending expected"); return
        }
        #expect(throws: ChangeDecisionError.ownChange(first.id, author: "alice")) { try changes.approve(first.id, context: alice) }
        // The rule moves on: the change no longer means what was reviewed.
        try rules.put(Fixtures.rule("R", .draft, description: "two"), context: bob)
        #expect(throws: ChangeDecisionError.rule(.stale(id: "R", expected: 1, latest: 2))) { try changes.approve(first.id, context: bob) }

        guard case .pending(let second) = try changes.submit(.publish(id: "R", revision: nil, release: .to(["canary"])), context: alice) else {
            Issue.record("pending expected"); return
        }
        let record = try changes.approve(second.id, context: bob).record
        #expect(record.rule.state == .published && record.revision == 2 && record.release == .groups(["canary"]))
        let set = try rules.publishedSet()
        #expect(set.rollout.rules(set.rules, for: PollingHost(name: "lab-1")).map(\.id) == ["R"])
        #expect(set.rollout.rules(set.rules, for: .anonymous).isEmpty)
        #expect(throws: RuleChangeError.self) { try changes.submit(.promote(id: "R", release: .to(["nope"])), context: alice) }
    }

    /// The attack: a request for canary waits; a newer one (to everyone) is approved; approving
    /// the old one afterwards would narrow the rule back, though its revision never moved.
    @Test func anOldRequestCannotUndoANewerApprovedChange() throws {
        let temporary = try TestDatabase()
        let changes = ChangeStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        try rules.put(Fixtures.rule("R", .draft), context: alice)
        try HostGroupStore(database: temporary.database).create(name: "canary", selector: .names(["LAB*"]), context: alice)
        try changes.setRequireApproval(true, context: alice)
        guard case .pending(let old) = try changes.submit(.publish(id: "R", revision: nil, release: .to(["canary"])), context: alice),
              case .pending(let newer) = try changes.submit(.publish(id: "R", revision: nil, release: .everyone), context: ChangeContext(actor: "carol"))
        else { Issue.record("pending expected"); return }
        #expect(try changes.approve(newer.id, context: alice).record.release == .everyone)
        #expect(throws: ChangeDecisionError.self) { try changes.approve(old.id, context: bob) }
        #expect(try rules.record(id: "R")?.release == .everyone)
        #expect(try changes.change(old.id)?.state == .pending, "refused, so still pending: its author or another may reject it")
    }

    /// The attack: a pending change names canary; deleting canary and creating a wider group of
    /// the same name would widen what the approver approves. The delete is refused.
    @Test func aGroupNamedByAPendingChangeCannotBeDeleted() throws {
        let temporary = try TestDatabase()
        let changes = ChangeStore(database: temporary.database)
        let groups = HostGroupStore(database: temporary.database)
        try RuleStore(database: temporary.database).put(Fixtures.rule("R", .draft), context: alice)
        try groups.create(name: "canary", selector: .hosts(["EX01"]), context: alice)
        try changes.setRequireApproval(true, context: alice)
        guard case .pending(let change) = try changes.submit(.publish(id: "R", revision: nil, release: .to(["canary"])), context: alice) else {
            Issue.record("pending expected"); return
        }
        #expect(throws: HostGroupChangeError.inPendingChanges("canary", changes: [change.id])) { try groups.delete(name: "canary", context: alice) }
        #expect(try groups.group(named: "canary") != nil)
        try changes.reject(change.id, context: alice)
        try groups.delete(name: "canary", context: alice)
        #expect(try groups.group(named: "canary") == nil)
    }

    /// A group of 200,000 host ids is refused by its size before any id is looked up inside the
    /// write transaction (which would hold up every check-in meanwhile).
    @Test func aGroupOfTooManyMembersIsRefusedBeforeLookingThemUp() throws {
        let temporary = try TestDatabase()
        let groups = HostGroupStore(database: temporary.database)
        let members = (1...200_000).map { String($0) }
        #expect(throws: HostGroupChangeError.self) { try groups.create(name: "huge", selector: .hosts(members), context: alice) }
        #expect(try groups.group(named: "huge") == nil)
    }

    /// The attack of issue 19: publisher A asks to publish a narrow M20; publisher B deletes the
    /// never-published rule and puts other content under its id, which became "revision 1" again
    /// with the same state string; an admin's approval then served B's content as A's. The delete
    /// is refused while the change waits, and approval serves what A asked for.
    @Test func aRuleWithAPendingChangeCannotBeDeletedAndPutAnew() throws {
        let temporary = try TestDatabase()
        let changes = ChangeStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        let admin = ChangeContext(actor: "admin")
        try rules.put(Fixtures.rule("M20", .draft, description: "narrow"), context: alice)
        try changes.setRequireApproval(true, context: admin)
        guard case .pending(let change) = try changes.submit(.publish(id: "M20", revision: nil, release: .everyone), context: alice) else {
            Issue.record("pending expected"); return
        }
        #expect(throws: RuleChangeError.pendingChange(id: "M20", change: change.id)) { try rules.delete(id: "M20", context: bob) }
        #expect(try rules.revisions(id: "M20").map(\.rule.description) == ["narrow"])
        let record = try changes.approve(change.id, context: admin).record
        #expect(record.rule.description == "narrow" && record.rule.state == .published)
        let refused = try AuditLog(database: temporary.database).entries(AuditLog.Filter(ruleID: "M20")).items.filter { $0.action == "rule.delete" }
        #expect(refused.count == 1 && refused[0].outcome.hasPrefix("refused: rule M20 has change \(change.id) waiting for approval"))
    }

    /// Deleting a rule never published keeps its revisions: one created again under the id
    /// numbers on, so a revision number never names two contents.
    @Test func revisionNumbersAreNeverReused() throws {
        let temporary = try TestDatabase()
        let rules = RuleStore(database: temporary.database)
        try rules.put(Fixtures.rule("R", .draft, description: "first"), context: alice)
        try rules.delete(id: "R", context: alice)
        #expect(try rules.record(id: "R") == nil)
        let (again, created) = try rules.save(Fixtures.rule("R", .draft, description: "second"), context: bob)
        #expect(created && again.revision == 2 && again.latestRevision == 2)
        #expect(try rules.revisions(id: "R").map(\.revision) == [1, 2])
        #expect(try rules.revisions(id: "R").map(\.rule.description) == ["first", "second"])
        #expect(throws: (any Error).self) {
            try temporary.database.write { db in try db.execute("DELETE FROM rule_revisions WHERE rule_id = 'R'") }
        }
    }

    /// Approval compares a digest of the content, not numbers or state strings: content changed
    /// under a pending change by any path (here the database itself, past its triggers) is refused,
    /// and so is a change asked for before changes carried a digest.
    @Test func approvalRefusesContentOtherThanWhatWasAskedFor() throws {
        let temporary = try TestDatabase()
        let changes = ChangeStore(database: temporary.database)
        let rules = RuleStore(database: temporary.database)
        try rules.put(Fixtures.rule("R", .draft, description: "reviewed"), context: alice)
        try changes.setRequireApproval(true, context: alice)
        guard case .pending(let swapped) = try changes.submit(.publish(id: "R", revision: nil, release: .everyone), context: alice),
              case .pending(let legacy) = try changes.submit(.publish(id: "R", revision: nil, release: .everyone), context: alice)
        else {
            Issue.record("pending expected"); return
        }
        try temporary.database.write { db in
            try db.execute("UPDATE pending_changes SET content_digest = NULL WHERE id = ?", [legacy.id])
            try db.execute(db.engine == .sqlite ? "DROP TRIGGER rule_revisions_immutable" : "DROP TRIGGER rule_revisions_immutable ON rule_revisions")
            let other = try RuleStore.content(Fixtures.rule("R", .draft, description: "swapped"))
            try db.execute("UPDATE rule_revisions SET content = ? WHERE rule_id = 'R'", [other])
            try db.execute("UPDATE rules SET content = ? WHERE id = 'R'", [other])
        }
        #expect(throws: ChangeDecisionError.rule(.conflict("the content of rule R is not what change \(swapped.id) was asked for: reject it and ask again"))) {
            try changes.approve(swapped.id, context: bob)
        }
        #expect(throws: ChangeDecisionError.rule(.conflict("change \(legacy.id) was asked for before changes were bound to their content: reject it and ask again"))) {
            try changes.approve(legacy.id, context: bob)
        }
        #expect(try rules.publishedSet().rules.isEmpty)
    }
}
