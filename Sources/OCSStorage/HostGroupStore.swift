import Foundation
import OCSDomain

/// A host group as stored: its definition and who made it when.
public struct HostGroupRecord: Sendable, Equatable {
    public let id: Int64
    public let group: HostGroup
    public let createdAt: Date
    public let createdBy: String
}

/// Host groups for staged rollouts: created and deleted (never edited in place, so a rule's
/// stage means what it meant when it was set), each change audited.
public struct HostGroupStore: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// Creates a group. Numeric members of a `hosts` group are host ids, resolved now to the
    /// host's serverId (or name, for a host that never sent one): a poll carries no host id.
    @discardableResult
    public func create(name: String, selector: HostGroup.Selector, context: ChangeContext) throws(HostGroupChangeError) -> HostGroupRecord {
        let time = Date()
        return try audited("group.create", context: context, time: time) { db in
            var selector = selector
            // The cap before the lookups: each id is a query inside the write transaction.
            if selector.values.count > HostGroup.maximumMembers {
                throw HostGroupChangeError.invalid(.invalidMember(group: name, "at most \(HostGroup.maximumMembers) members, not \(selector.values.count)"))
            }
            if case .hosts(let members) = selector {
                selector = .hosts(try members.map { member in
                    guard member.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let id = Int64(member) else { return member }
                    guard let row = try db.row("SELECT server_id, server_name FROM hosts WHERE id = ?", [id]),
                          let identity = try (row["server_id"] as String?) ?? (row["server_name"] as String?)
                    else { throw HostGroupChangeError.unknownHost(member) }
                    return identity
                })
            }
            let group: HostGroup
            do throws(HostGroupError) { group = try HostGroup(name: name, selector: selector) } catch { throw HostGroupChangeError.invalid(error) }
            guard try db.row("SELECT 1 FROM host_groups WHERE name = ?", [name]) == nil else {
                throw HostGroupChangeError.exists(name)
            }
            try db.execute(
                "INSERT INTO host_groups (name, selector, created_at, created_by) VALUES (?, ?, ?, ?)",
                [name, Self.encode(group.selector), DatabaseTimestamp(time), context.actor]
            )
            let record = try Self.record(db, name: name)!
            let values = group.selector.values
            return (record, "ok: \(name) \(group.selector.kind) \(values.prefix(5).joined(separator: ","))\(values.count > 5 ? " and \(values.count - 5) more" : "")")
        }
    }

    /// Deletes a group no published rule is released to.
    public func delete(name: String, context: ChangeContext) throws(HostGroupChangeError) {
        _ = try audited("group.delete", context: context, time: Date()) { db in
            guard let record = try Self.record(db, name: name) else { throw HostGroupChangeError.notFound(name) }
            let users = try db.values(
                String.self,
                "SELECT id FROM rules WHERE state = 'published' AND EXISTS (SELECT 1 FROM \(db.engine.jsonArrayElements("rules.release_groups")) WHERE value = ?) ORDER BY id",
                [name]
            )
            guard users.isEmpty else { throw HostGroupChangeError.inUse(name, rules: users) }
            // A pending change names the group: deleting (and re-creating) it would change what the
            // approver approves.
            let pending = try db.values(
                Int64.self, """
                    SELECT id FROM pending_changes WHERE state = 'pending' AND expires_at >= ?
                    AND EXISTS (SELECT 1 FROM \(db.engine.jsonArrayElements("pending_changes.release_groups")) WHERE value = ?) ORDER BY id
                    """,
                [DatabaseTimestamp(Date()), name]
            )
            guard pending.isEmpty else { throw HostGroupChangeError.inPendingChanges(name, changes: pending) }
            try db.execute("DELETE FROM host_groups WHERE name = ?", [name])
            return (record, "ok: \(name)")
        }
    }

    /// One group by name.
    public func group(named name: String) throws -> HostGroupRecord? {
        try database.read { db in try Self.record(db, name: name) }
    }

    /// A page of groups, in the order they were created.
    public func groups(page: PageRequest = PageRequest()) throws -> Page<HostGroupRecord> {
        let rows = try database.read { db in
            try db.rows("SELECT * FROM host_groups WHERE id > ? ORDER BY id LIMIT ?", [page.cursor?.key ?? 0, page.limit + 1])
                .map(Self.record)
        }
        return Page(reading: rows, limit: page.limit, kind: .groups, key: \.id)
    }

    /// Every group, by name: what the feed evaluates polls against. Read inside the caller's
    /// transaction so it matches the rules read with it.
    static func all(_ db: any SQLTransaction) throws -> [HostGroup] {
        try db.rows("SELECT * FROM host_groups ORDER BY name").map { try record($0).group }
    }

    /// The names of `names` that are no group.
    static func unknown(_ names: [String], in db: any SQLTransaction) throws -> [String] {
        try names.filter { try db.row("SELECT 1 FROM host_groups WHERE name = ?", [$0]) == nil }
    }

    // MARK: Internals

    private func audited(
        _ action: String, context: ChangeContext, time: Date,
        _ body: @escaping (any SQLTransaction) throws -> (HostGroupRecord, String)
    ) throws(HostGroupChangeError) -> HostGroupRecord {
        do {
            return try database.write { db in
                let (record, outcome) = try body(db)
                try AuditLog.append(AuditEntry(time: time, context: context, action: action, ruleID: nil, revision: nil, outcome: outcome), in: db)
                return record
            }
        } catch {
            let failure = (error as? HostGroupChangeError) ?? .storage("\(error)")
            try? AuditLog(database: database).append(AuditEntry(
                time: time, context: context, action: action, ruleID: nil, revision: nil, outcome: "refused: \(failure.description)"
            ))
            throw failure
        }
    }

    private static func record(_ db: any SQLTransaction, name: String) throws -> HostGroupRecord? {
        try db.row("SELECT * FROM host_groups WHERE name = ?", [name]).map(record)
    }

    private static func record(_ row: SQLRow) throws -> HostGroupRecord {
        let name: String = try row["name"]
        let text: String = try row["selector"]
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw StorageError.corruptRule(id: "group \(name)", reason: "selector is not a JSON object")
        }
        let selector: HostGroup.Selector
        if let hosts = object["hosts"] as? [String] {
            selector = .hosts(hosts)
        } else if let names = object["names"] as? [String] {
            selector = .names(names)
        } else if let org = object["org"] as? String {
            selector = .org(org)
        } else {
            throw StorageError.corruptRule(id: "group \(name)", reason: "unknown selector \(text.prefix(80))")
        }
        let (id, createdAt, createdBy): (Int64, Date, String) = (try row["id"], try row["created_at"], try row["created_by"])
        do {
            return HostGroupRecord(id: id, group: try HostGroup(name: name, selector: selector), createdAt: createdAt, createdBy: createdBy)
        } catch {
            throw StorageError.corruptRule(id: "group \(name)", reason: error.description)
        }
    }

    private static func encode(_ selector: HostGroup.Selector) throws -> String {
        let object: [String: Any] = switch selector {
        case .hosts(let hosts): ["hosts": hosts]
        case .names(let names): ["names": names]
        case .org(let org): ["org": org]
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

/// Why a group change was refused; each maps to one HTTP status.
public enum HostGroupChangeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(HostGroupError)
    case unknownHost(String)
    case exists(String)
    case notFound(String)
    case inUse(String, rules: [String])
    case inPendingChanges(String, changes: [Int64])
    case storage(String)

    public var description: String {
        switch self {
        case .invalid(let error): error.description
        case .unknownHost(let id): "no host with id \(id.prefix(40)): `ocs hosts` lists them (or name hosts by serverId or name)"
        case .exists(let name): "a group named \(name) exists already: delete it first or choose another name"
        case .notFound(let name): "no group named '\(name.prefix(80))': `ocs groups list` shows them"
        case .inUse(let name, let rules):
            "group \(name) is in the release of published \(rules.count == 1 ? "rule" : "rules") \(rules.prefix(10).joined(separator: ", ")): promote or retire \(rules.count == 1 ? "it" : "them") first"
        case .inPendingChanges(let name, let changes):
            "group \(name) is named by pending \(changes.count == 1 ? "change" : "changes") \(changes.prefix(10).map(String.init).joined(separator: ", ")): approve or reject \(changes.count == 1 ? "it" : "them") first"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}
