import GRDB
import OCSPostgres
import OCSTestSupport
import PostgresNIO
import Testing
@testable import OCSStorage

/// Both engines end their migrations in the same schema: the same tables, columns in the same
/// order with the same types and nullability, indexes and triggers.
struct PostgresSchemaTests {
    struct Column: Equatable, CustomStringConvertible {
        var name: String
        var type: String
        var notNull: Bool
        var description: String { "\(name) \(type)\(notNull ? " NOT NULL" : "")" }
    }

    /// Triggers PostgreSQL has beyond SQLite's: TRUNCATE skips row triggers, and SQLite has no
    /// TRUNCATE; SQLite has no NOTIFY to announce the serial with (migration 0021).
    static let postgresOnlyTriggers: Set = [
        "audit_log_no_truncate", "catalog_builds_no_truncate", "rule_revisions_no_truncate", "host_count_truncate", "feed_state_announce_serial",
        "upstream_documents_no_truncate", "bundles_no_truncate",
    ]

    @Test func theMigratedSchemaIsSQLites() async throws {
        let sqlite = try TemporaryDatabase()
        let (sqliteTables, sqliteIndexes, sqliteTriggers) = try await sqlite.database.writer.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations' ORDER BY name")
            var columns: [String: [Column]] = [:]
            for table in tables {
                columns[table] = try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", arguments: [table]).map { row in
                    let type: String = row["type"]
                    let sqliteType = ["INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"][type] ?? type
                    return Column(name: row["name"], type: sqliteType, notNull: (row["notnull"] as Int) == 1 || (row["pk"] as Int) > 0)
                }
            }
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            return (columns, indexes, triggers)
        }

        try await PostgresTestDatabase.with { _, client in
            try await PostgresMigrator(logger: PostgresTestDatabase.quietLogger).migrate(client)
            var tables: [String: [Column]] = [:]
            let columnRows = try await client.query("""
                SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name <> 'ocs_migrations' ORDER BY table_name, ordinal_position
                """)
            for try await (table, name, type, nullable) in columnRows.decode((String, String, String, String).self) {
                tables[table, default: []].append(Column(name: name, type: type, notNull: nullable == "NO"))
            }
            #expect(tables.keys.sorted() == sqliteTables.keys.sorted())
            for (table, columns) in sqliteTables {
                #expect(tables[table] == columns, "\(table)")
            }

            // Indexes made by CREATE INDEX, not those behind a PRIMARY KEY or UNIQUE constraint
            // (SQLite's sqlite_autoindex_*).
            var indexes: [String] = []
            for try await name in try await client.query("""
                SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
                WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                ORDER BY i.relname
                """).decode(String.self) {
                indexes.append(name)
            }
            #expect(indexes == sqliteIndexes)

            var triggers: [String] = []
            for try await name in try await client.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname").decode(String.self) {
                triggers.append(name)
            }
            #expect(triggers.filter { !Self.postgresOnlyTriggers.contains($0) } == sqliteTriggers)
            #expect(Set(triggers).isSuperset(of: Self.postgresOnlyTriggers))
        }
    }
}
