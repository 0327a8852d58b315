import Foundation
import OCSDomain

/// One audit entry.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int64?
    public var time: Date
    public var actor: String
    public var action: String
    public var ruleID: String?
    public var revision: Int?
    public var remoteAddress: String?
    /// `ok`, or what went wrong (`412 stale revision`, ...).
    public var outcome: String
    /// The incident or ticket id the caller gave; nil when none was.
    public var reason: String?

    public init(time: Date = Date(), actor: String, action: String, ruleID: String?, revision: Int?, remoteAddress: String?, outcome: String, reason: String? = nil) {
        self.reason = reason
        self.time = time
        self.actor = actor
        self.action = action
        self.ruleID = ruleID
        self.revision = revision
        self.remoteAddress = remoteAddress
        self.outcome = outcome
    }
}

extension AuditEntry {
    /// An entry of a change made in `context`: its actor, remote address and reason.
    public init(time: Date = Date(), context: ChangeContext, action: String, ruleID: String?, revision: Int?, outcome: String) {
        self.init(
            time: time, actor: context.actor, action: action, ruleID: ruleID, revision: revision,
            remoteAddress: context.remoteAddress, outcome: outcome, reason: context.reason
        )
    }
}

/// The append-only audit trail. Nothing here updates or deletes, and triggers forbid both.
public struct AuditLog: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// Filters for `entries`; nil matches anything.
    public struct Filter: Sendable {
        public var ruleID: String?
        public var actor: String?
        public var since: Date?
        public var until: Date?
        /// Newest entry first (the dashboard's order under an incident); oldest first otherwise.
        public var newestFirst: Bool

        public init(ruleID: String? = nil, actor: String? = nil, since: Date? = nil, until: Date? = nil, newestFirst: Bool = false) {
            self.ruleID = ruleID
            self.actor = actor
            self.since = since
            self.until = until
            self.newestFirst = newestFirst
        }
    }

    /// Records an attempt that changed nothing (refused or failed), in a transaction of its own.
    public func append(_ entry: AuditEntry) throws {
        try database.write { db in try Self.append(entry, in: db) }
    }

    /// Every text field is stored printable (see `printable`) and bounded: an outcome that quotes
    /// a caller's input can neither forge a line nor flood the trail.
    static func append(_ entry: AuditEntry, in db: any SQLTransaction) throws {
        let name = { (text: String) in printable(text, maximumBytes: maximumNameBytes) }
        try db.execute(
            "INSERT INTO audit_log (time, actor, action, rule_id, revision, remote_address, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                DatabaseTimestamp(entry.time), name(entry.actor), name(entry.action), entry.ruleID.map(name), entry.revision,
                entry.remoteAddress.map(name), printable(entry.outcome, maximumBytes: maximumOutcomeBytes),
                entry.reason.map { printable($0, maximumBytes: ChangeContext.maximumReasonBytes) },
            ]
        )
    }

    /// Longest actor, action, rule id or remote address stored, in UTF-8 bytes.
    public static let maximumNameBytes = 200
    /// Longest outcome stored, in UTF-8 bytes.
    public static let maximumOutcomeBytes = 400

    /// `text` on one line: control and format characters and line separators escaped (`\n`,
    /// `\r`, `\t`, else `\u{1B}`), then cut to `maximumBytes` of UTF-8 with `…` and how much was cut.
    public static func printable(_ text: String, maximumBytes: Int) -> String {
        OneLineText.escaping(text, maximumBytes: maximumBytes)
    }

    /// Matching entries, oldest first (or newest first), one page at a time.
    public func entries(_ filter: Filter = Filter(), page: PageRequest = PageRequest()) throws -> Page<AuditEntry> {
        var conditions = [filter.newestFirst ? "id < ?" : "id > ?"]
        var arguments: [(any SQLValueConvertible)?] = [page.cursor?.key ?? (filter.newestFirst ? Int64.max : 0)]
        if let ruleID = filter.ruleID { conditions.append("rule_id = ?"); arguments.append(ruleID) }
        if let actor = filter.actor { conditions.append("actor = ?"); arguments.append(actor) }
        if let since = filter.since { conditions.append("time >= ?"); arguments.append(DatabaseTimestamp(since)) }
        if let until = filter.until { conditions.append("time < ?"); arguments.append(DatabaseTimestamp(until)) }
        arguments.append(page.limit + 1)
        let rows = try database.read { db in
            try db.records(AuditEntry.self, "SELECT * FROM audit_log WHERE \(conditions.joined(separator: " AND ")) ORDER BY id\(filter.newestFirst ? " DESC" : "") LIMIT ?", SQLArguments(arguments))
        }
        return Page(reading: rows, limit: page.limit, kind: .audit) { $0.id ?? 0 }
    }
}

extension AuditEntry: SQLRowDecodable {
    /// A row of `audit_log`.
    public init(row: SQLRow) throws {
        self.init(
            time: try row["time"], actor: try row["actor"], action: try row["action"], ruleID: try row["rule_id"],
            revision: try row["revision"], remoteAddress: try row["remote_address"], outcome: try row["outcome"], reason: try row["reason"]
        )
        id = try row["id"]
    }
}
