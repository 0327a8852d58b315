import Foundation
import GRDB
import OCSDomain

/// The rules table: current content and state of every mitigation, and the published serial.
public struct RuleStore: Sendable {
    let database: OCSDatabase

    public init(database: OCSDatabase) {
        self.database = database
    }

    /// What an import changed, by rule id.
    public struct ImportSummary: Sendable, Equatable {
        public var created: [String] = []
        public var updated: [String] = []
        public var unchanged: [String] = []
    }

    /// Every rule, ordered by id.
    public func all() throws -> [Mitigation] {
        try database.pool.read { db in try Self.fetch(db, sql: "SELECT id, state, content FROM rules ORDER BY id") }
    }

    public func rule(id: String) throws -> Mitigation? {
        try database.pool.read { db in
            try Self.fetch(db, sql: "SELECT id, state, content FROM rules WHERE id = ?", arguments: [id]).first
        }
    }

    /// The published rules with their serial and issue time, read in one snapshot.
    public func publishedSet() throws -> PublishedRuleSet {
        try database.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT serial, issued_at FROM feed_state WHERE id = 1")
            let rules = try Self.fetch(db, sql: "SELECT id, state, content FROM rules WHERE state = 'published' ORDER BY id")
            return PublishedRuleSet(serial: row?["serial"] ?? 0, issued: row?["issued_at"] ?? "", rules: rules)
        }
    }

    /// The serial of the published rule set; grows with every change to what the feed serves.
    public func serial() throws -> Int64 {
        // Read on every poll: a cached statement skips parsing the SQL each time.
        try database.pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT serial FROM feed_state WHERE id = 1")) ?? 0
        }
    }

    public func isEmpty() throws -> Bool {
        try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rules") == 0 }
    }

    /// Creates or replaces these rules in one transaction: all are written, or none.
    @discardableResult
    public func importRules(_ rules: [Mitigation], at time: Date = Date()) throws -> ImportSummary {
        let encoded = try rules.map { rule in (rule, try Self.encode(rule)) }
        return try database.pool.write { db in
            var summary = ImportSummary()
            for (rule, content) in encoded {
                let existing = try Row.fetchOne(db, sql: "SELECT state, content FROM rules WHERE id = ?", arguments: [rule.id])
                switch existing {
                case nil:
                    try db.execute(
                        sql: "INSERT INTO rules (id, state, content, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                        arguments: [rule.id, rule.state.rawValue, content, time, time]
                    )
                    summary.created.append(rule.id)
                case let row? where row["state"] == rule.state.rawValue && row["content"] == content:
                    summary.unchanged.append(rule.id)
                case .some:
                    try db.execute(
                        sql: "UPDATE rules SET state = ?, content = ?, updated_at = ? WHERE id = ?",
                        arguments: [rule.state.rawValue, content, time, rule.id]
                    )
                    summary.updated.append(rule.id)
                }
            }
            return summary
        }
    }

    static func encode(_ rule: Mitigation) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rule), as: UTF8.self)
    }

    private static func fetch(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [Mitigation] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let id: String = row["id"]
            let content: String = row["content"]
            do {
                var rule = try JSONDecoder().decode(Mitigation.self, from: Data(content.utf8))
                guard let state = RuleState(rawValue: row["state"]) else {
                    throw StorageError.corruptRule(id: id, reason: "unknown state")
                }
                rule.state = state
                return rule
            } catch {
                throw StorageError.corruptRule(id: id, reason: "\(error)")
            }
        }
    }
}

/// The published rules at one serial: everything the feed is rendered from.
public struct PublishedRuleSet: Sendable, Equatable {
    public let serial: Int64
    /// When the set took this serial, UTC, `2026-11-23T06:00:00Z`.
    public let issued: String
    public let rules: [Mitigation]

    public init(serial: Int64, issued: String, rules: [Mitigation]) {
        self.serial = serial
        self.issued = issued
        self.rules = rules
    }
}
