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
        let temporary = try TemporaryDatabase()
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
        let temporary = try TemporaryDatabase()
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
        let record = try changes.approve(second.id, context: bob)
        #expect(record.rule.state == .published && record.revision == 2 && record.release == .groups(["canary"]))
        let set = try rules.publishedSet()
        #expect(set.rollout.rules(set.rules, for: PollingHost(name: "lab-1")).map(\.id) == ["R"])
        #expect(set.rollout.rules(set.rules, for: .anonymous).isEmpty)
        #expect(throws: RuleChangeError.self) { try changes.submit(.promote(id: "R", release: .to(["nope"])), context: alice) }
    }
}
