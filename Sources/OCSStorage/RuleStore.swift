import Foundation
import OCSDomain

/// Rules and their revisions: what each rule says, which revision its state applies to, and the
/// published serial. Every change appends an immutable revision or moves a rule between states,
/// with an audit entry in the same transaction.
public struct RuleStore: Sendable {
    let database: any SQLDatabase
    /// The catalog compiled into the binary; rows added to the database go on top of it.
    let catalogBase: BuildCatalog

    public init(database: any SQLDatabase, catalog: BuildCatalog = .embedded) {
        self.database = database
        catalogBase = catalog
    }

    // MARK: Reading

    /// Every rule at its current revision, ordered by id; optionally only those in `state`.
    public func all(state: RuleState? = nil) throws -> [RuleRecord] {
        try database.read { db in
            try Self.records(db, "SELECT * FROM rules \(state == nil ? "" : "WHERE state = ?") ORDER BY id", state.map { [$0.rawValue] } ?? [])
        }
    }

    /// One rule at its current revision.
    public func record(id: String) throws -> RuleRecord? {
        try database.read { db in try Self.record(db, id: id) }
    }

    /// The rule at its current revision, as the feed and files see it.
    public func rule(id: String) throws -> Mitigation? {
        try record(id: id)?.rule
    }

    /// Every revision of a rule, oldest first.
    public func revisions(id: String) throws -> [RuleRevision] {
        try database.read { db in
            try db.records(RuleRevision.self, "SELECT * FROM rule_revisions WHERE rule_id = ? ORDER BY revision", [id])
        }
    }

    /// The published rules with their serial, issue time, releases and the groups those name,
    /// read in one snapshot.
    public func publishedSet() throws -> PublishedRuleSet {
        try database.read { db in
            var (serial, issued): (Int64, String) = (0, "")
            if let row = try db.row("SELECT serial, issued_at FROM feed_state WHERE id = 1") {
                (serial, issued) = (try row["serial"], try row["issued_at"])
            }
            let records = try Self.records(db, "SELECT * FROM rules WHERE state = 'published' ORDER BY id")
            let releases = Dictionary(uniqueKeysWithValues: records.compactMap { record in record.release.map { (record.rule.id, $0) } })
            return PublishedRuleSet(
                serial: serial, issued: issued, rules: records.map(\.rule),
                rollout: Rollout(releases: releases, groups: try HostGroupStore.all(db)),
                catalog: try CatalogStore.catalog(catalogBase, in: db)
            )
        }
    }

    /// The serial's one row; the check-in writer reads it in its own transaction too.
    static let selectSerial = "SELECT serial FROM feed_state WHERE id = 1"

    /// The serial of the published rule set; grows with every change to what the feed serves.
    public func serial() throws -> Int64 {
        try database.read { db in try Self.serial(db) }
    }

    static func serial(_ db: any SQLTransaction) throws -> Int64 {
        try db.value(Int64.self, Self.selectSerial) ?? 0
    }

    public func isEmpty() throws -> Bool {
        try database.read { db in try db.value(Int.self, "SELECT COUNT(*) FROM rules") == 0 }
    }

    // MARK: Changing

    /// Creates the rule or adds a revision with new content. A rule that is published keeps
    /// serving its published revision; the new one waits as a draft. Otherwise the new revision
    /// becomes current and the rule a draft. `expectedRevision`, when given, must be the latest.
    @discardableResult
    public func put(_ rule: Mitigation, expectedRevision: Int? = nil, context: ChangeContext) throws(RuleChangeError) -> RuleRecord {
        try save(rule, expectedRevision: expectedRevision, context: context).record
    }

    /// `put`, saying whether it created the rule (a rule created again after a delete numbers its
    /// revisions on, so the revision does not tell).
    public func save(_ rule: Mitigation, expectedRevision: Int? = nil, context: ChangeContext) throws(RuleChangeError) -> (record: RuleRecord, created: Bool) {
        var created = false
        let record = try change("rule.put", ruleID: rule.id, context: context) { db, time in
            let existing = try Self.record(db, id: rule.id)
            try Self.check(expectedRevision, against: existing, id: rule.id)
            let revision = try Self.addRevision(rule, to: existing, author: context.actor, time: time, in: db)
            created = existing == nil
            return (try Self.record(db, id: rule.id)!, revision)
        }
        return (record, created)
    }

    /// Publishes the latest revision, or `revision` (an earlier one: a rollback), to `release`.
    /// Refused while require-approval is on (see `ChangeStore`), as are promote and retire.
    /// Without one, a published rule keeps its release and any other is released to everyone:
    /// the command line, the API and the dashboard ask for it explicitly before that.
    /// A publish that would stop serving the rule to hosts that have it applied (a narrower
    /// release, a revision for fewer builds) is refused (`narrowing`) unless `narrow`.
    @discardableResult
    public func publish(id: String, revision: Int? = nil, to release: Release? = nil, expectedRevision: Int? = nil, narrow: Bool = false, context: ChangeContext) throws(RuleChangeError) -> RuleRecord {
        try change("rule.publish", ruleID: id, context: context) { db, time in
            try Self.refuseUnderApproval(id, "publish", in: db)
            return try Self.applyPublish(
                id: id, revision: revision, to: release, expectedRevision: expectedRevision, narrow: narrow, reason: context.reason, time: time, catalog: catalogBase, in: db
            )
        }
    }

    /// Widens a published rule's release: to more groups, or to everyone.
    @discardableResult
    public func promote(id: String, to release: Release, expectedRevision: Int? = nil, context: ChangeContext) throws(RuleChangeError) -> RuleRecord {
        try change("rule.promote", ruleID: id, context: context) { db, time in
            try Self.refuseUnderApproval(id, "promote", in: db)
            return try Self.applyPromote(id: id, to: release, expectedRevision: expectedRevision, time: time, in: db)
        }
    }

    /// Takes a published or draft rule out of service. Refused (`narrowing`) while hosts that are
    /// served it report it applied, unless `narrow`: retiring takes it from all of them.
    @discardableResult
    public func retire(id: String, expectedRevision: Int? = nil, narrow: Bool = false, context: ChangeContext) throws(RuleChangeError) -> RuleRecord {
        try change("rule.retire", ruleID: id, context: context) { db, time in
            try Self.refuseUnderApproval(id, "retire", in: db)
            return try Self.applyRetire(id: id, expectedRevision: expectedRevision, narrow: narrow, reason: context.reason, time: time, in: db)
        }
    }

    // MARK: Changes, inside a caller's transaction (also applied by an approval)

    /// A narrowing (`narrow`, with its `reason`) records the hosts it takes the rule from.
    static func applyPublish(
        id: String, revision: Int?, to release: Release?, expectedRevision: Int?, narrow: Bool, reason: String?, time: Date, catalog base: BuildCatalog = .embedded,
        in db: any SQLTransaction
    ) throws -> (RuleRecord, Int) {
        guard let existing = try Self.record(db, id: id) else { throw RuleChangeError.notFound(id) }
        try Self.check(expectedRevision, against: existing, id: id)
        let target = revision ?? existing.latestRevision
        let release = try Self.release(release, publishing: existing)
        if existing.rule.state == .published && existing.revision == target && existing.release == release {
            throw RuleChangeError.conflict("rule \(id) is published at revision \(target) to \(release) already")
        }
        try Self.checkGroups(release, in: db)
        if existing.rule.state == .published, let served = existing.release, let content = try revisionContent(db, id: id, revision: target) {
            let before = (rule: existing.rule, release: served), after = (rule: try decode(content, id: id), release: release)
            let catalog = try CatalogStore.catalog(base, in: db)
            let losing = try FleetStore.hostsLosing(id, before: before, after: after, catalog: catalog, in: db)
            let count = try losing.count(in: db)
            if count > 0 {
                try Self.allowNarrowing(id, hosts: count, narrow: narrow, reason: reason)
                try losing.recordNarrowing(revision: target, reason: reason, time: time, in: db)
            }
        }
        try Self.publish(id, revision: target, to: release, time: time, catalog: base, in: db)
        return (try Self.record(db, id: id)!, target)
    }

    /// The release rule, the one place it is checked: a rule that is not being served (a draft, or
    /// retired) is served again only to whom the change names; a published one keeps its release
    /// when none is named. Checked in the write transaction, so no caller's earlier read of the
    /// state can be overtaken by a retire and turn a republish into a release to everyone.
    static func release(_ named: Release?, publishing existing: RuleRecord) throws(RuleChangeError) -> Release {
        guard let release = named ?? (existing.rule.state == .published ? existing.release : nil) else {
            throw .releaseRequired(id: existing.rule.id, state: existing.rule.state.rawValue)
        }
        return release
    }

    static func applyPromote(id: String, to release: Release, expectedRevision: Int?, time: Date, in db: any SQLTransaction) throws -> (RuleRecord, Int) {
        guard let existing = try Self.record(db, id: id) else { throw RuleChangeError.notFound(id) }
        try Self.check(expectedRevision, against: existing, id: id)
        guard let current = existing.release else {
            throw RuleChangeError.conflict("rule \(id) is \(existing.rule.state.rawValue): publish it first (promote widens a published rule's release)")
        }
        let widened = current.widened(by: release)
        guard widened != current else { throw RuleChangeError.conflict("rule \(id) is released to \(current) already") }
        try Self.checkGroups(release, in: db)
        try Self.setRelease(widened, of: id, in: db)
        try db.execute("UPDATE rules SET updated_at = ? WHERE id = ?", [DatabaseTimestamp(time), id])
        return (try Self.record(db, id: id)!, existing.revision)
    }

    static func applyRetire(
        id: String, expectedRevision: Int?, narrow: Bool, reason: String?, time: Date, catalog base: BuildCatalog = .embedded, in db: any SQLTransaction
    ) throws -> (RuleRecord, Int) {
        guard let existing = try Self.record(db, id: id) else { throw RuleChangeError.notFound(id) }
        try Self.check(expectedRevision, against: existing, id: id)
        guard existing.rule.state != .retired else { throw RuleChangeError.conflict("rule \(id) is retired already") }
        if existing.rule.state == .published, let served = existing.release {
            let losing = try FleetStore.hostsLosing(id, before: (existing.rule, served), after: nil, catalog: try CatalogStore.catalog(base, in: db), in: db)
                .count(in: db)
            if losing > 0 { try Self.allowNarrowing(id, hosts: losing, narrow: narrow, reason: reason) }
        }
        try db.execute("UPDATE rules SET state = 'retired', release_groups = NULL, updated_at = ? WHERE id = ?", [DatabaseTimestamp(time), id])
        return (try Self.record(db, id: id)!, existing.revision)
    }

    /// A change that takes the rule from `hosts` hosts that have it applied goes ahead only when
    /// asked to narrow, with a reason.
    private static func allowNarrowing(_ id: String, hosts: Int, narrow: Bool, reason: String?) throws(RuleChangeError) {
        guard narrow else { throw .narrowing(id: id, hosts: hosts) }
        guard reason != nil else { throw .narrowingNeedsReason(id: id, hosts: hosts) }
    }

    /// Nothing gets past two-person approval: with it on, these changes go through
    /// `ChangeStore.submit` (which applies them with the `apply` functions below).
    private static func refuseUnderApproval(_ id: String, _ verb: String, in db: any SQLTransaction) throws {
        guard try ChangeStore.requiresApproval(db) else { return }
        throw RuleChangeError.conflict("require-approval is on: \(verb) \(id) with `ocs rules \(verb)` or the API, which ask for approval (an import publishes drafts only)")
    }

    private static func checkGroups(_ release: Release, in db: any SQLTransaction) throws {
        let unknown = try HostGroupStore.unknown(release.groupNames, in: db)
        guard unknown.isEmpty else { throw RuleChangeError.unknownGroups(unknown) }
    }

    private static func setRelease(_ release: Release, of id: String, in db: any SQLTransaction) throws {
        try db.execute("UPDATE rules SET release_groups = ? WHERE id = ?", [try stored(release), id])
    }

    /// `release_groups` as stored: NULL for everyone, else a JSON array of group names.
    static func stored(_ release: Release) throws -> String? {
        switch release {
        case .everyone: nil
        case .groups(let names): String(decoding: try JSONSerialization.data(withJSONObject: names), as: UTF8.self)
        }
    }

    /// Which of `ids` name a rule that is a draft or published (not retired): one read however
    /// many rules there are.
    public func liveRules(among ids: [String]) throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let list = String(decoding: try JSONSerialization.data(withJSONObject: ids), as: UTF8.self)
        return try database.read { db in
            Set(try db.values(
                String.self, "SELECT id FROM rules WHERE state <> 'retired' AND id IN (SELECT value FROM \(db.engine.jsonArrayElements("?")))", [list]
            ))
        }
    }

    /// Deletes a rule and its revisions; only one that was never published.
    public func delete(id: String, expectedRevision: Int? = nil, context: ChangeContext) throws(RuleChangeError) {
        _ = try change("rule.delete", ruleID: id, context: context) { db, time in
            guard let existing = try Self.record(db, id: id) else { throw RuleChangeError.notFound(id) }
            try Self.check(expectedRevision, against: existing, id: id)
            guard existing.firstPublishedAt == nil else {
                throw RuleChangeError.conflict("rule \(id) was published, so it stays on record: retire it instead")
            }
            // A pending change names this rule's revisions: deleting the rule and putting other
            // content under its id must not turn an approval into one of content nobody reviewed.
            if let change = try db.value(
                Int64.self, "SELECT id FROM pending_changes WHERE rule_id = ? AND state = 'pending' AND expires_at >= ? ORDER BY id LIMIT 1",
                [id, DatabaseTimestamp(time)]
            ) {
                throw RuleChangeError.pendingChange(id: id, change: change)
            }
            // Its revisions stay (append-only): a rule created again under this id numbers on.
            try db.execute("DELETE FROM rules WHERE id = ?", [id])
            return (existing, existing.latestRevision)
        }
    }

    /// What an import changed, by rule id.
    public struct ImportSummary: Sendable, Equatable {
        public var created: [String] = []
        public var updated: [String] = []
        public var unchanged: [String] = []

        public init(created: [String] = [], updated: [String] = [], unchanged: [String] = []) {
            self.created = created
            self.updated = updated
            self.unchanged = unchanged
        }
    }

    /// Imports rule files in one transaction: all or nothing. New content becomes a revision;
    /// then a file saying `published` (or every file, with `publish`) publishes the latest
    /// revision and one saying `retired` retires the rule. `draft` changes no state, so an
    /// exported folder re-imports as a no-op.
    @discardableResult
    /// What is published goes to `release`; without one, as `publish(id:)` decides.
    public func importRules(_ rules: [Mitigation], publish: Bool = false, release: Release? = nil, context: ChangeContext = .localUser) throws(RuleChangeError) -> ImportSummary {
        do {
            return try database.write { db in
                let time = Date()
                var summary = ImportSummary()
                for rule in rules {
                    var existing = try Self.record(db, id: rule.id)
                    let isNew = existing == nil
                    var changed = false
                    let latest = try existing.map { try Self.revisionContent(db, id: rule.id, revision: $0.latestRevision) }
                    let content = try Self.content(rule)
                    if isNew || latest != content {
                        let revision = try Self.addRevision(rule, to: existing, author: context.actor, time: time, in: db)
                        try Self.audit("rule.import", rule.id, revision, context, time, db)
                        existing = try Self.record(db, id: rule.id)
                        changed = true
                    }
                    guard let current = existing else { continue }
                    let wanted: RuleState? = publish ? .published : (rule.state == .draft ? nil : rule.state)
                    let target = release ?? current.release ?? .everyone
                    if wanted == .published, current.rule.state != .published || current.revision != current.latestRevision || current.release != target {
                        try Self.refuseUnderApproval(rule.id, "publish", in: db)
                        // As `publish` does: refused if it takes the rule from hosts that have it
                        // applied (an import cannot ask to narrow; `ocs rules publish --narrow` can).
                        _ = try Self.applyPublish(
                            id: rule.id, revision: current.latestRevision, to: target, expectedRevision: nil, narrow: false, reason: context.reason,
                            time: time, catalog: catalogBase, in: db
                        )
                        try Self.audit("rule.publish", rule.id, current.latestRevision, context, time, db, outcome: "ok: released to \(target)")
                        changed = true
                    } else if wanted == .retired, current.rule.state != .retired {
                        try Self.refuseUnderApproval(rule.id, "retire", in: db)
                        _ = try Self.applyRetire(id: rule.id, expectedRevision: nil, narrow: false, reason: context.reason, time: time, catalog: catalogBase, in: db)
                        try Self.audit("rule.retire", rule.id, current.revision, context, time, db)
                        changed = true
                    }
                    if isNew {
                        summary.created.append(rule.id)
                    } else if changed {
                        summary.updated.append(rule.id)
                    } else {
                        summary.unchanged.append(rule.id)
                    }
                }
                return summary
            }
        } catch let error as RuleChangeError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    // MARK: Internals

    /// Runs one change in a transaction with its audit entry; a refused change is audited on its
    /// own (the transaction rolled back) and rethrown.
    private func change(
        _ action: String, ruleID: String, context: ChangeContext,
        _ body: @escaping (any SQLTransaction, Date) throws -> (RuleRecord, Int)
    ) throws(RuleChangeError) -> RuleRecord {
        let time = Date()
        do {
            return try database.write { db in
                let (record, revision) = try body(db, time)
                try Self.audit(action, ruleID, revision, context, time, db, outcome: ["rule.publish", "rule.promote"].contains(action) ? record.release.map { "ok: released to \($0)" } ?? "ok" : "ok")
                return record
            }
        } catch {
            let failure = (error as? RuleChangeError) ?? .storage("\(error)")
            try? AuditLog(database: database).append(AuditEntry(
                time: time, context: context, action: action, ruleID: ruleID, revision: nil,
                outcome: "refused: \(failure.description)"
            ))
            throw failure
        }
    }

    static func audit(_ action: String, _ ruleID: String, _ revision: Int, _ context: ChangeContext, _ time: Date, _ db: any SQLTransaction, outcome: String = "ok") throws {
        try AuditLog.append(AuditEntry(time: time, context: context, action: action, ruleID: ruleID, revision: revision, outcome: outcome), in: db)
    }

    static func check(_ expected: Int?, against existing: RuleRecord?, id: String) throws {
        guard let expected else { return }
        let latest = existing?.latestRevision ?? 0
        guard expected == latest else { throw RuleChangeError.stale(id: id, expected: expected, latest: latest) }
    }

    /// Appends a revision; makes it current unless the rule is published. Returns its number.
    private static func addRevision(_ rule: Mitigation, to existing: RuleRecord?, author: String, time: Date, in db: any SQLTransaction) throws -> Int {
        let content = try Self.content(rule)
        // After every revision ever stored under this id, those of a deleted rule included.
        let revision = try (db.value(Int.self, "SELECT max(revision) FROM rule_revisions WHERE rule_id = ?", [rule.id]) ?? 0) + 1
        try db.execute(
            "INSERT INTO rule_revisions (rule_id, revision, content, author, created_at) VALUES (?, ?, ?, ?, ?)",
            [rule.id, revision, content, author, DatabaseTimestamp(time)]
        )
        switch existing?.rule.state {
        case nil:
            try db.execute(
                "INSERT INTO rules (id, state, content, created_at, updated_at, revision, latest_revision) VALUES (?, 'draft', ?, ?, ?, ?, ?)",
                [rule.id, content, DatabaseTimestamp(time), DatabaseTimestamp(time), revision, revision]
            )
        case .published:
            try db.execute("UPDATE rules SET latest_revision = ?, updated_at = ? WHERE id = ?", [revision, DatabaseTimestamp(time), rule.id])
        case .draft, .retired:
            try db.execute(
                "UPDATE rules SET state = 'draft', content = ?, revision = ?, latest_revision = ?, updated_at = ? WHERE id = ?",
                [content, revision, revision, DatabaseTimestamp(time), rule.id]
            )
        }
        return revision
    }

    /// Serves `revision` to `release` in one UPDATE, so the serial moves once however much of the
    /// rule changes; refuses a rule whose targeting can match nothing under the catalog in effect
    /// (`RuleValidator.warnings`), which would otherwise publish silently to no host.
    private static func publish(_ id: String, revision: Int, to release: Release, time: Date, catalog base: BuildCatalog, in db: any SQLTransaction) throws {
        guard let content = try revisionContent(db, id: id, revision: revision) else {
            throw RuleChangeError.noSuchRevision(id: id, revision: revision)
        }
        let validator = RuleValidator(catalog: try CatalogStore.catalog(base, in: db))
        let rule = try decode(content, id: id)
        let reasons = validator.problems(in: rule) + validator.warnings(in: rule)
        guard reasons.isEmpty else { throw RuleChangeError.unpublishable(id: id, reasons: reasons) }
        try db.execute(
            "UPDATE rules SET state = 'published', revision = ?, content = ?, release_groups = ?, updated_at = ?, first_published_at = coalesce(first_published_at, ?) WHERE id = ?",
            [revision, content, try stored(release), DatabaseTimestamp(time), DatabaseTimestamp(time), id]
        )
    }

    static func revisionContent(_ db: any SQLTransaction, id: String, revision: Int) throws -> String? {
        try db.value(String.self, "SELECT content FROM rule_revisions WHERE rule_id = ? AND revision = ?", [id, revision])
    }

    /// A rule's content as stored: its JSON without `state`, keys sorted, so equal rules store
    /// equal text.
    static func content(_ rule: Mitigation) throws -> String {
        var stateless = rule
        stateless.state = .draft
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(stateless)) as? [String: Any] ?? [:]
        object.removeValue(forKey: "state")
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    static func decode(_ content: String, id: String) throws -> Mitigation {
        do {
            return try JSONDecoder().decode(Mitigation.self, from: Data(content.utf8))
        } catch {
            throw StorageError.corruptRule(id: id, reason: "\(error)")
        }
    }

    static func record(_ db: any SQLTransaction, id: String) throws -> RuleRecord? {
        try records(db, "SELECT * FROM rules WHERE id = ?", [id]).first
    }

    private static func records(_ db: any SQLTransaction, _ sql: String, _ arguments: SQLArguments = []) throws -> [RuleRecord] {
        try db.records(RuleRecord.self, sql, arguments)
    }

    /// A stored `release_groups`: NULL for everyone, else a JSON array of group names.
    static func release(_ text: String?, id: String) throws -> Release {
        guard let text else { return .everyone }
        guard let names = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String], !names.isEmpty else {
            throw StorageError.corruptRule(id: id, reason: "release_groups is not a list of group names")
        }
        return .to(names)
    }

}

extension RuleRecord: SQLRowDecodable {
    /// A row of `rules`.
    public init(row: SQLRow) throws {
        let id: String = try row["id"]
        var rule = try RuleStore.decode(try row["content"], id: id)
        guard let state = RuleState(rawValue: try row["state"]) else {
            throw StorageError.corruptRule(id: id, reason: "unknown state")
        }
        rule.state = state
        self.init(
            rule: rule, revision: try row["revision"], latestRevision: try row["latest_revision"],
            createdAt: try row["created_at"], updatedAt: try row["updated_at"], firstPublishedAt: try row["first_published_at"],
            release: state == .published ? try RuleStore.release(try row["release_groups"], id: id) : nil
        )
    }
}

extension RuleRevision: SQLRowDecodable {
    /// A row of `rule_revisions`.
    public init(row: SQLRow) throws {
        let id: String = try row["rule_id"]
        self.init(
            ruleID: id, revision: try row["revision"], rule: try RuleStore.decode(try row["content"], id: id),
            author: try row["author"], createdAt: try row["created_at"]
        )
    }
}

/// A rule at its current revision, with where its history stands.
public struct RuleRecord: Sendable, Equatable {
    /// The current revision's content, with the rule's state.
    public let rule: Mitigation
    /// The revision the state applies to.
    public let revision: Int
    /// The newest revision: ahead of `revision` while an edit of a published rule awaits publishing.
    public let latestRevision: Int
    public let createdAt: Date
    public let updatedAt: Date
    /// Nil for a rule that was never published (and so may be deleted).
    public let firstPublishedAt: Date?
    /// Who the feed serves a published rule to (its stage); nil unless published.
    public var release: Release? = nil
}

/// One immutable revision of a rule.
public struct RuleRevision: Sendable, Equatable {
    public let ruleID: String
    public let revision: Int
    /// Its content (state is the rule's, not the revision's: always draft here).
    public let rule: Mitigation
    public let author: String
    public let createdAt: Date
}

/// Why a rule change was refused; each maps to one HTTP status.
public enum RuleChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case noSuchRevision(id: String, revision: Int)
    case stale(id: String, expected: Int, latest: Int)
    case conflict(String)
    /// A release names groups that do not exist.
    case unknownGroups([String])
    /// Publishing a rule that is not published (`state`) must name who receives it.
    case releaseRequired(id: String, state: String)
    /// The rule's targeting can match nothing (or names what the catalog lacks): `reasons` say where.
    case unpublishable(id: String, reasons: [RuleProblem])
    /// The rule has a change waiting for approval (`change`), which deleting it would invalidate.
    case pendingChange(id: String, change: Int64)
    /// The publish would stop serving the rule to `hosts` hosts that report it applied (their
    /// agents would remove it), and was not asked to narrow.
    case narrowing(id: String, hosts: Int)
    /// Asked to narrow, taking the rule from `hosts` hosts that have it applied, without a reason:
    /// a change that removes protection says why, for the audit trail and the hosts' pages.
    case narrowingNeedsReason(id: String, hosts: Int)
    case storage(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no rule with id '\(id.prefix(80))'"
        case .noSuchRevision(let id, let revision): "rule \(id) has no revision \(revision)"
        case .stale(let id, let expected, let latest): "rule \(id) is at revision \(latest), not \(expected): reload it and apply your change again"
        case .conflict(let message): message
        case .releaseRequired(let id, let state): "rule \(id) is \(state): say who receives it, groups (a staged rollout) or everyone"
        case .unknownGroups(let names): "no group named \(names.prefix(10).joined(separator: ", ")): `ocs groups create` makes one, `ocs groups list` shows them"
        case .unpublishable(let id, let reasons):
            "rule \(id) cannot be published: \(reasons.map(\.description).joined(separator: "; ")); fix its applies, or add the missing builds with ocs builds add"
        case .pendingChange(let id, let change): "rule \(id) has change \(change) waiting for approval: reject it first (`ocs changes reject \(change)`)"
        case .narrowing(let id, let hosts):
            "this change to rule \(id) would stop serving it to \(hosts) \(hosts == 1 ? "host that has" : "hosts that have") it applied: their agents would remove it. Nothing was changed; to do it anyway, ask to narrow (--narrow, \"narrow\": true)"
        case .narrowingNeedsReason(let id, let hosts):
            "this change to rule \(id) takes it from \(hosts) \(hosts == 1 ? "host that has" : "hosts that have") it applied: give the reason (--reason, ?reason=). Nothing was changed"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}

/// The published rules at one serial: everything the feed is rendered from.
public struct PublishedRuleSet: Sendable, Equatable {
    public let serial: Int64
    /// When the set took this serial, UTC, `2026-11-23T06:00:00Z`.
    public let issued: String
    public let rules: [Mitigation]
    /// Each rule's stage and the groups they name: which of `rules` a polling host receives.
    public let rollout: Rollout
    /// The catalog in effect when the set was read (embedded plus added rows): the feed judges
    /// the rules by it, so every process renders the same bytes for one serial.
    public let catalog: BuildCatalog

    public init(serial: Int64, issued: String, rules: [Mitigation], rollout: Rollout = .everyone, catalog: BuildCatalog = .embedded) {
        self.serial = serial
        self.issued = issued
        self.rules = rules
        self.rollout = rollout
        self.catalog = catalog
    }
}
