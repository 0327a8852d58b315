import OCSStorage

/// `ocs db copy`: an SQLite database, every table of it, into an empty PostgreSQL database that
/// this binary migrated to the same schema, in one PostgreSQL transaction (all or nothing) read
/// from one SQLite snapshot; then counted again on both sides.
///
/// Rows keep their ids, so references between tables, API cursors and the audit trail's order
/// hold; each identity sequence then starts after the largest id copied. The target's own
/// triggers are off while rows go in: they would otherwise bump the serial and stamp `issued`
/// again for every published rule copied, and refuse nothing the source's did not (the rows
/// passed the same triggers in the source), and they are on again before the commit.
public struct SQLiteToPostgresCopy {
    /// Rows per INSERT: a few hundred keeps each statement far below PostgreSQL's 65535 parameters.
    static let rowsPerStatement = 256

    /// Tables the migrations fill themselves (one-row state, seeded policies): the target's rows
    /// are replaced by the source's rather than counted as the target being in use.
    static let seeded: Set<String> = ["feed_state", "readiness_probe", "host_count", "policies"]

    /// The PostgreSQL migrator's own table: each side records its migrations its own way.
    static let migrationTable = "ocs_migrations"

    public struct Report: Sendable, Equatable {
        /// Each table and the rows it holds on both sides after the copy, in the order copied.
        public let tables: [Table]
        /// The rule-set serial on both sides after the copy.
        public let serial: Int64

        public struct Table: Sendable, Equatable {
            public let name: String
            public let rows: Int
        }
    }

    let source: any SQLDatabase
    let target: any SQLDatabase

    /// `source` must be an SQLite database, `target` a PostgreSQL one; both already migrated by
    /// this binary (opening them does that).
    public init(from source: any SQLDatabase, to target: any SQLDatabase) throws(SQLiteToPostgresCopyError) {
        guard source.engine == .sqlite else { throw .wrongEngines(source: source.name, target: target.name) }
        guard target.engine == .postgres else { throw .wrongEngines(source: source.name, target: target.name) }
        self.source = source
        self.target = target
    }

    /// Copies, commits and verifies. Nothing is written to the target unless all of it is.
    public func run() throws(SQLiteToPostgresCopyError) -> Report {
        let copied: [Report.Table]
        let sourceState: FeedStateRow
        do {
            (copied, sourceState) = try source.read { from in
                let tables = try Self.sqliteTables(from)
                let state = try FeedStateRow(from)
                let copied = try target.write { to in try copy(tables, from: from, to: to) }
                return (copied, state)
            }
        } catch let error as SQLiteToPostgresCopyError {
            throw error
        } catch {
            throw .database("\(error)")
        }
        return try verify(copied, state: sourceState)
    }

    private func copy(_ tables: [String: [String]], from: any SQLTransaction, to: any SQLTransaction) throws -> [Report.Table] {
        let targetTables = try Self.postgresTables(to)
        guard Set(tables.keys) == Set(targetTables.keys) else {
            throw SQLiteToPostgresCopyError.schemasDiffer(
                onlyInSource: tables.keys.filter { targetTables[$0] == nil }.sorted(),
                onlyInTarget: targetTables.keys.filter { tables[$0] == nil }.sorted()
            )
        }
        for (table, columns) in tables where Set(columns) != Set(targetTables[table] ?? []) {
            throw SQLiteToPostgresCopyError.columnsDiffer(table: table, source: columns.sorted(), target: (targetTables[table] ?? []).sorted())
        }
        for table in tables.keys.sorted() where !Self.seeded.contains(table) {
            let rows = try Self.count(table, to)
            if rows > 0 { throw SQLiteToPostgresCopyError.targetNotEmpty(table: table, rows: rows) }
        }
        let serial = try to.value(Int64.self, "SELECT serial FROM feed_state WHERE id = 1") ?? 0
        if serial != 0 { throw SQLiteToPostgresCopyError.targetNotEmpty(table: "feed_state (serial \(serial))", rows: 1) }

        let order = try Self.parentsFirst(tables.keys.sorted(), to)
        for table in order {
            try to.execute("ALTER TABLE \(Self.quoted(table)) DISABLE TRIGGER USER")
        }
        var copied: [Report.Table] = []
        for table in order {
            if Self.seeded.contains(table) {
                try to.execute("DELETE FROM \(Self.quoted(table))")
            }
            let columns = tables[table] ?? []
            copied.append(Report.Table(name: table, rows: try copyRows(of: table, columns: columns, from: from, to: to)))
        }
        for table in order {
            try to.execute("ALTER TABLE \(Self.quoted(table)) ENABLE TRIGGER USER")
        }
        // Each identity continues after the largest id SQLite ever gave (AUTOINCREMENT remembers
        // those of deleted rows in sqlite_sequence), so no id of a forgotten host comes back.
        var given: [String: Int64] = [:]
        for row in try from.rows("SELECT name, seq FROM sqlite_sequence") {
            given[try row["name"]] = try row["seq"]
        }
        for row in try to.rows(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ) {
            let table: String = try row["table_name"]
            let column: String = try row["column_name"]
            _ = try to.rows(
                "SELECT setval(pg_get_serial_sequence(?, ?), GREATEST((SELECT COALESCE(MAX(\(Self.quoted(column))), 0) FROM \(Self.quoted(table))), ?) + 1, false)",
                [Self.quoted(table), column, given[table] ?? 0]
            )
        }
        return copied
    }

    /// Copies one table in pages by rowid (SQLite's order of insertion for these tables).
    private func copyRows(of table: String, columns: [String], from: any SQLTransaction, to: any SQLTransaction) throws -> Int {
        let list = columns.map(Self.quoted).joined(separator: ", ")
        let select = "SELECT rowid AS ocs_copy_rowid, \(list) FROM \(Self.quoted(table)) WHERE rowid > ? ORDER BY rowid LIMIT \(Self.rowsPerStatement)"
        let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var after: Int64 = .min
        var total = 0
        while true {
            let rows = try from.rows(select, [after])
            guard let last = rows.last else { return total }
            var values: [SQLValue] = []
            values.reserveCapacity(rows.count * columns.count)
            for row in rows {
                for column in columns { values.append(try row.value(column)) }
            }
            let insert = "INSERT INTO \(Self.quoted(table)) (\(list)) VALUES " + Array(repeating: placeholders, count: rows.count).joined(separator: ", ")
            try to.execute(insert, SQLArguments(values))
            total += rows.count
            after = try last["ocs_copy_rowid"]
        }
    }

    /// Counts every table on both sides again, after the commit, and compares the rule-set state.
    private func verify(_ copied: [Report.Table], state: FeedStateRow) throws(SQLiteToPostgresCopyError) -> Report {
        do {
            let targetState = try target.read { try FeedStateRow($0) }
            for table in copied {
                let here = try source.read { try Self.count(table.name, $0) }
                let there = try target.read { try Self.count(table.name, $0) }
                guard here == table.rows else {
                    throw SQLiteToPostgresCopyError.verificationFailed(
                        "\(table.name) went from \(table.rows) to \(here) rows in the SQLite database while it was copied: stop every server on it, then copy again into a new database"
                    )
                }
                guard there == table.rows else {
                    throw SQLiteToPostgresCopyError.verificationFailed("\(table.name) holds \(there) rows in PostgreSQL after \(table.rows) were copied")
                }
            }
            guard targetState == state else {
                throw SQLiteToPostgresCopyError.verificationFailed("the rule set is at serial \(targetState.serial) issued \(targetState.issued) in PostgreSQL, not serial \(state.serial) issued \(state.issued)")
            }
            return Report(tables: copied, serial: state.serial)
        } catch let error as SQLiteToPostgresCopyError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }

    /// The rule set's serial and issued time, which every replica signs with.
    private struct FeedStateRow: Equatable {
        let serial: Int64
        let issued: String

        init(_ db: any SQLTransaction) throws {
            guard let row = try db.row("SELECT serial, issued_at FROM feed_state WHERE id = 1") else {
                throw SQLiteToPostgresCopyError.database("the database has no feed state")
            }
            serial = try row["serial"]
            issued = try row["issued_at"]
        }
    }

    /// The SQLite database's tables and their columns (not SQLite's own nor GRDB's migration log).
    static func sqliteTables(_ db: any SQLTransaction) throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for name in try db.values(String.self, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'grdb%'") {
            tables[name] = try db.values(String.self, "SELECT name FROM pragma_table_info(?) ORDER BY cid", [name])
        }
        return tables
    }

    /// The PostgreSQL database's tables in its schema and their columns (not the migrator's table).
    static func postgresTables(_ db: any SQLTransaction) throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for row in try db.rows(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> ?
            ORDER BY c.table_name, c.ordinal_position
            """,
            [migrationTable]
        ) {
            let table: String = try row["table_name"]
            tables[table, default: []].append(try row["column_name"])
        }
        return tables
    }

    /// `tables` with every table a foreign key references before the tables that reference it.
    static func parentsFirst(_ tables: [String], _ db: any SQLTransaction) throws -> [String] {
        var parents: [String: Set<String>] = [:]
        for row in try db.rows(
            "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
        ) {
            let child: String = try row["child"]
            parents[child, default: []].insert(try row["parent"])
        }
        var ordered: [String] = []
        var placed: Set<String> = []
        func place(_ table: String, _ path: Set<String>) {
            guard !placed.contains(table), !path.contains(table) else { return }
            for parent in (parents[table] ?? []).sorted() { place(parent, path.union([table])) }
            placed.insert(table)
            ordered.append(table)
        }
        for table in tables { place(table, []) }
        return ordered.filter(tables.contains)
    }

    static func count(_ table: String, _ db: any SQLTransaction) throws -> Int {
        try db.value(Int.self, "SELECT COUNT(*) FROM \(quoted(table))") ?? 0
    }

    /// An identifier as both engines read it, whatever it holds.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

public enum SQLiteToPostgresCopyError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongEngines(source: String, target: String)
    case targetNotEmpty(table: String, rows: Int)
    case schemasDiffer(onlyInSource: [String], onlyInTarget: [String])
    case columnsDiffer(table: String, source: [String], target: [String])
    case verificationFailed(String)
    case database(String)

    public var description: String {
        switch self {
        case .wrongEngines(let source, let target):
            "copies an SQLite database into a PostgreSQL one, not \(source) into \(target)"
        case .targetNotEmpty(let table, let rows):
            "the PostgreSQL database is not empty (\(table) holds \(rows) \(rows == 1 ? "row" : "rows")): copy into a new, empty database; nothing was copied"
        case .schemasDiffer(let onlyInSource, let onlyInTarget):
            "the two databases have different tables (only in SQLite: \(onlyInSource.joined(separator: ", ")); only in PostgreSQL: \(onlyInTarget.joined(separator: ", "))); nothing was copied"
        case .columnsDiffer(let table, let source, let target):
            "table \(table) has columns \(source.joined(separator: ", ")) in SQLite but \(target.joined(separator: ", ")) in PostgreSQL; nothing was copied"
        case .verificationFailed(let what):
            "the copy was committed but does not match: \(what)"
        case .database(let message):
            message
        }
    }
}
