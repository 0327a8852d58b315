import Foundation
import OCSPostgres
import OCSTestSupport
import PostgresNIO
import Testing

/// The invariants the database itself guards, on PostgreSQL: what the SQLite triggers do (and what
/// Tests/OCSStorageTests checks of them), through writes that skip every store.
struct PostgresInvariantTests {
    /// Runs `body` on a fresh database migrated to the current schema.
    static func migrated(_ body: (PostgresClient) async throws -> Void) async throws {
        try await PostgresTestDatabase.with { _, client in
            try await PostgresMigrator(logger: PostgresTestDatabase.quietLogger).migrate(client)
            try await body(client)
        }
    }

    static func value<T: PostgresDecodable>(_ query: PostgresQuery, _ client: PostgresClient, as type: T.Type = T.self) async throws -> T {
        let rows = try await client.query(query).collect()
        return try #require(rows.first).decode(T.self)
    }

    static func serial(_ client: PostgresClient) async throws -> Int {
        try await value("SELECT serial FROM feed_state WHERE id = 1", client)
    }

    static func issued(_ client: PostgresClient) async throws -> String {
        try await value("SELECT issued_at FROM feed_state WHERE id = 1", client)
    }

    /// `query` must fail with the trigger's refusal: SQLSTATE 23000 and SQLite's message.
    static func expectRefused(_ query: PostgresQuery, _ client: PostgresClient, message: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await client.query(query)
            Issue.record("\(query.sql) was allowed", sourceLocation: sourceLocation)
        } catch let error as PSQLError {
            #expect(error.serverInfo?[.sqlState] == "23000", sourceLocation: sourceLocation)
            #expect(error.serverInfo?[.message] == message, sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    static func insertRule(_ id: String, _ state: String, _ content: String, _ client: PostgresClient) async throws {
        try await client.query("INSERT INTO rules (id, state, content, created_at, updated_at) VALUES (\(id), \(state), \(content), '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')")
    }

    /// As RuleStoreTests.serialMovesOnlyWithThePublishedSet: only what the feed serves moves it.
    @Test func serialMovesOnlyWithThePublishedSet() async throws {
        try await Self.migrated { client in
            #expect(try await Self.serial(client) == 0)
            try await Self.insertRule("A", "published", "{\"a\":1}", client)
            #expect(try await Self.serial(client) == 1, "publishing changes the feed")
            try await client.query("UPDATE rules SET content = content, updated_at = 'later' WHERE id = 'A'")
            #expect(try await Self.serial(client) == 1, "rewriting the same content changes nothing")
            try await Self.insertRule("D", "draft", "{\"d\":1}", client)
            try await client.query("UPDATE rules SET content = '{\"d\":2}' WHERE id = 'D'")
            #expect(try await Self.serial(client) == 1, "drafts are not served")
            try await client.query("UPDATE rules SET state = 'published' WHERE id = 'D'")
            #expect(try await Self.serial(client) == 2, "publishing a draft changes the feed")
            try await client.query("UPDATE rules SET content = '{\"a\":2}' WHERE id = 'A'")
            #expect(try await Self.serial(client) == 3, "editing a published rule changes the feed")
            try await client.query("UPDATE rules SET release_groups = '[\"pilot\"]' WHERE id = 'A'")
            #expect(try await Self.serial(client) == 4, "changing a published rule's release changes the feed")
            try await client.query("UPDATE rules SET release_groups = '[\"pilot\"]' WHERE id = 'A'")
            #expect(try await Self.serial(client) == 4, "the same release changes nothing")
            try await client.query("UPDATE rules SET state = 'retired' WHERE id = 'A'")
            #expect(try await Self.serial(client) == 5, "retiring changes the feed")
            try await client.query("DELETE FROM rules WHERE id = 'D'")
            #expect(try await Self.serial(client) == 6, "deleting a published rule changes the feed")
            try await client.query("DELETE FROM rules WHERE id = 'A'")
            #expect(try await Self.serial(client) == 6, "deleting a retired rule does not")
        }
    }

    /// As RuleStoreTests.issuedNeverGoesBackWhenTheClockDoes: whichever way the serial grows,
    /// `issued_at` becomes the later of now and what it was.
    @Test func issuedNeverGoesBackWhenTheClockDoes() async throws {
        try await Self.migrated { client in
            #expect(try await Self.issued(client) == "1970-01-01T00:00:00Z")
            let before = Date().formatted(Date.ISO8601FormatStyle())
            try await Self.insertRule("A", "published", "{}", client)
            let now = try await Self.issued(client)
            #expect(now >= before, "a bump with a right clock issues now")
            #expect(now.count == 20 && now.hasSuffix("Z"), "as strftime('%Y-%m-%dT%H:%M:%SZ') writes it: \(now)")

            let fast = Date().addingTimeInterval(2 * 86400).formatted(Date.ISO8601FormatStyle())
            try await client.query("UPDATE feed_state SET issued_at = \(fast) WHERE id = 1")
            var serial = try await Self.serial(client)
            let bumps: [(String, PostgresQuery)] = [
                ("a rule published", "INSERT INTO rules (id, state, content, created_at, updated_at) VALUES ('B', 'published', '{}', 't', 't')"),
                ("a published rule edited", "UPDATE rules SET content = '{\"new\":1}' WHERE id = 'B'"),
                ("a release changed", "UPDATE rules SET release_groups = '[\"pilot\"]' WHERE id = 'A'"),
                ("a rule retired", "UPDATE rules SET state = 'retired' WHERE id = 'B'"),
                ("a published rule deleted", "DELETE FROM rules WHERE id = 'A'"),
                ("the catalog's bump", "UPDATE feed_state SET serial = serial + 1 WHERE id = 1"),
            ]
            for (change, bump) in bumps {
                try await client.query(bump)
                #expect(try await Self.serial(client) == serial + 1, "\(change) raises the serial")
                serial += 1
                #expect(try await Self.issued(client) == fast, "\(change): issued stays at the fast clock's time rather than going back")
            }
            // A clock stepped back a few minutes behind a right issued time: the same.
            let recent = Date().addingTimeInterval(180).formatted(Date.ISO8601FormatStyle())
            try await client.query("UPDATE feed_state SET issued_at = \(recent) WHERE id = 1")
            try await Self.insertRule("C", "published", "{}", client)
            #expect(try await Self.issued(client) == recent)
            // A write that leaves the serial alone leaves issued_at alone.
            try await client.query("UPDATE feed_state SET serial = serial WHERE id = 1")
            #expect(try await Self.issued(client) == recent)
        }
    }

    /// As RuleLifecycleTests.revisionsAndAuditCannotBeRewritten and
    /// CheckInStoreTests.historyEntriesAreImmutableAndTheAuditTrailStaysAppendOnly.
    @Test func theAuditTrailIsAppendOnly() async throws {
        try await Self.migrated { client in
            try await client.query("INSERT INTO audit_log (time, actor, action, outcome) VALUES ('2026-01-01 00:00:00.000', 'alice', 'publish', 'ok')")
            await Self.expectRefused("UPDATE audit_log SET actor = 'mallory'", client, message: "the audit log is append-only")
            await Self.expectRefused("DELETE FROM audit_log", client, message: "the audit log is append-only")
            await Self.expectRefused("TRUNCATE audit_log", client, message: "the audit log is append-only")
            #expect(try await Self.value("SELECT actor FROM audit_log", client) == "alice")
        }
    }

    @Test func ruleRevisionsAreImmutableAndAppendOnly() async throws {
        try await Self.migrated { client in
            try await client.query("INSERT INTO rule_revisions (rule_id, revision, content, author, created_at) VALUES ('R', 1, '{}', 'alice', 't')")
            await Self.expectRefused("UPDATE rule_revisions SET author = 'mallory'", client, message: "rule revisions are immutable")
            await Self.expectRefused("DELETE FROM rule_revisions WHERE rule_id = 'R'", client, message: "rule revisions are append-only")
            await Self.expectRefused("TRUNCATE rule_revisions", client, message: "rule revisions are append-only")
            #expect(try await Self.value("SELECT author FROM rule_revisions", client) == "alice")
            // Revision numbers start at 1 (CHECK), and one number means one content (PRIMARY KEY).
            await #expect(throws: PSQLError.self) { try await client.query("INSERT INTO rule_revisions (rule_id, revision, content, author, created_at) VALUES ('R', 0, '{}', 'a', 't')") }
            await #expect(throws: PSQLError.self) { try await client.query("INSERT INTO rule_revisions (rule_id, revision, content, author, created_at) VALUES ('R', 1, '{\"other\":1}', 'a', 't')") }
        }
    }

    @Test func catalogBuildsAreAppendOnly() async throws {
        try await Self.migrated { client in
            try await client.query("INSERT INTO catalog_builds (product, cu, build, released, added_at, added_by) VALUES ('Exchange2019', 'CU16', '15.2.1800.5', '2026-12-01', 't', 'alice')")
            await Self.expectRefused("UPDATE catalog_builds SET build = '15.2.1800.6'", client, message: "catalog_builds is append-only")
            await Self.expectRefused("DELETE FROM catalog_builds", client, message: "catalog_builds is append-only")
            await Self.expectRefused("TRUNCATE catalog_builds", client, message: "catalog_builds is append-only")
            // One row per product, CU and update, a missing update counting as one.
            await #expect(throws: PSQLError.self) {
                try await client.query("INSERT INTO catalog_builds (product, cu, build, released, added_at, added_by) VALUES ('Exchange2019', 'CU16', '15.2.1800.7', '2026-12-01', 't', 'alice')")
            }
        }
    }

    /// As CheckInStoreTests.historyEntriesAreImmutableAndTheAuditTrailStaysAppendOnly: what a host
    /// reported never changes; only the host an entry belongs to may, and pruning may delete.
    @Test func historyEntriesAreImmutableButMayJoinAnotherHost() async throws {
        try await Self.migrated { client in
            try await client.query("INSERT INTO hosts (server_id, server_name, applied, blocked, first_seen, last_seen, poll_count) VALUES ('id-1', 'EX1', '', '', 't', 't', 1), (NULL, 'EX1', '', '', 't', 't', 1)")
            try await client.query("INSERT INTO host_history (host_id, changed_at, server_name, build, applied, blocked) VALUES (2, 't', 'EX1', '15.2.1118.1', '', '')")
            await Self.expectRefused("UPDATE host_history SET build = 'x'", client, message: "history entries are immutable")
            await Self.expectRefused("UPDATE host_history SET changed_at = 'x'", client, message: "history entries are immutable")
            try await client.query("UPDATE host_history SET host_id = 1")
            #expect(try await Self.value("SELECT host_id FROM host_history", client) == 1)
            try await client.query("DELETE FROM hosts WHERE id = 1")
            #expect(try await Self.value("SELECT count(*) FROM host_history", client) == 0, "a forgotten host's history goes with it")
        }
    }

    /// As CheckInStoreTests.hostsNotSeenSinceTheCutoffAreForgottenWithTheirHistory: the count the
    /// triggers keep follows every insert and delete (and TRUNCATE, which SQLite lacks).
    @Test func hostCountFollowsInsertsAndDeletes() async throws {
        try await Self.migrated { client in
            func hostCount() async throws -> Int { try await Self.value("SELECT hosts FROM host_count WHERE id = 1", client) }
            #expect(try await hostCount() == 0)
            for index in 1...5 {
                try await client.query("INSERT INTO hosts (server_id, server_name, applied, blocked, first_seen, last_seen, poll_count) VALUES (\("id-\(index)"), \("EX\(index)"), '', '', 't', 't', 1)")
            }
            #expect(try await hostCount() == 5)
            try await client.query("DELETE FROM hosts WHERE server_id IN ('id-2', 'id-3')")
            #expect(try await hostCount() == 3)
            try await client.query("UPDATE hosts SET poll_count = poll_count + 1")
            #expect(try await hostCount() == 3, "an update is no new host")
            try await client.query("TRUNCATE hosts CASCADE")
            #expect(try await hostCount() == 0)
        }
    }

    /// As RuleLifecycleTests.aRevokedNameCanBeReusedWhileALiveNameStaysUnique: the partial index
    /// holds even against a write that skips the store's check.
    @Test func aLiveTokenNameIsUniqueAndARevokedOneReusable() async throws {
        try await Self.migrated { client in
            try await client.query("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('ci', 'admin', '\\x00'::bytea, 't')")
            await #expect(throws: PSQLError.self) { try await client.query("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('ci', 'reader', '\\x01'::bytea, 't')") }
            try await client.query("UPDATE api_tokens SET revoked_at = 't' WHERE name = 'ci'")
            try await client.query("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('ci', 'reader', '\\x01'::bytea, 't')")
            #expect(try await Self.value("SELECT count(*) FROM api_tokens WHERE name = 'ci'", client) == 2)
            await #expect(throws: PSQLError.self, "a hash is one token") {
                try await client.query("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('other', 'reader', '\\x01'::bytea, 't')")
            }
            await #expect(throws: PSQLError.self, "roles are the three ocs knows") {
                try await client.query("INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('x', 'root', '\\x02'::bytea, 't')")
            }
        }
    }

    /// Text compares byte by byte, as in SQLite, whatever the database's locale: names, ids and
    /// timestamps order the same on both engines.
    @Test func textOrdersByteByByteAsInSQLite() async throws {
        try await Self.migrated { client in
            for id in ["b", "B", "a", "_"] {
                try await Self.insertRule(id, "draft", "{}", client)
            }
            var ids: [String] = []
            for try await id in try await client.query("SELECT id FROM rules ORDER BY id").decode(String.self) {
                ids.append(id)
            }
            #expect(ids == ["B", "_", "a", "b"])
            #expect(try await Self.value("SELECT lower(id) FROM rules WHERE id = 'B'", client) == "b")
        }
    }

    @Test func singletonRowsStaySingle() async throws {
        try await Self.migrated { client in
            for table in ["feed_state", "host_count", "readiness_probe"] {
                let rows: Int = try await Self.value(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), client)
                #expect(rows == 1, "\(table)")
            }
            await #expect(throws: PSQLError.self) { try await client.query("INSERT INTO feed_state (id, serial) VALUES (2, 0)") }
            await #expect(throws: PSQLError.self) { try await client.query("INSERT INTO signing_identity (id, fingerprint, subject, recorded_at) VALUES (2, 'f', 's', 't')") }
        }
    }
}
