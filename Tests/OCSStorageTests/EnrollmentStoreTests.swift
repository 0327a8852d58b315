import Foundation
import GRDB
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

/// Enrollment and verified check-ins: only a poll carrying a host's credential changes an
/// enrolled host; a token enrolls one host once; credentials can be replaced and revoked.
struct EnrollmentStoreTests {
    static let guid = "6f1d2c3b-0a4e-4b5c-9d8e-7f6a5b4c3d2e"
    static let otherGUID = "00000000-0000-4000-8000-000000000002"
    static let admin = ChangeContext(actor: "alice")

    static func poll(id: String? = guid, name: String = "EX01", applied: [String] = ["PING1"], credential: String? = nil, at seconds: TimeInterval = 0) -> CheckIn {
        CheckIn(
            serverID: id, serverName: name, build: "15.2.1118.7", orgID: nil, applied: applied, blocked: [],
            mitigationsEnabled: true, dataCollectionEnabled: nil, remoteAddress: "127.0.0.1", userAgent: "test",
            time: Date(timeIntervalSince1970: 1_800_000_000 + seconds),
            credentialDigest: credential.map(EnrollmentStore.credentialDigest)
        )
    }

    @Test func aTokenEnrollsOneHostOnceAndOnlyItsCredentialChangesIt() throws {
        let temporary = try TestDatabase()
        let enrollment = EnrollmentStore(database: temporary.database)
        let store = CheckInStore(database: temporary.database, acceptance: .enrolled)
        let tokens = try enrollment.createTokens(count: 2, validFor: 3600, context: Self.admin)
        #expect(tokens.secrets.count == 2 && Set(tokens.secrets).count == 2)
        #expect(tokens.secrets.allSatisfy { $0.hasPrefix(EnrollmentStore.tokenPrefix) })

        let enrolled = try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01", remoteAddress: "192.0.2.1")
        #expect(!enrolled.reenrolled)
        var host = try #require(try store.host(HostReference(Self.guid)!))
        #expect(host.id == enrolled.hostID && host.verified && host.pollCount == 0)
        let reused = #expect(throws: EnrollmentError.self) {
            try enrollment.enroll(token: tokens.secrets[0], serverID: Self.otherGUID, serverName: "EX02", remoteAddress: nil)
        }
        if case .usedToken(let id, _)? = reused { #expect(id == tokens.firstID) } else { Issue.record("expected usedToken, got \(String(describing: reused))") }

        // Its own poll, with the credential: recorded.
        #expect(try store.record([Self.poll(credential: enrolled.credential, at: 1)]).outcomes == [.recorded])
        // The attacks: the same serverId without the credential, the name alone, a made-up credential.
        let forged = try store.record([
            Self.poll(applied: ["PING1", "M1"], at: 2), Self.poll(id: nil, applied: ["PING1", "M1"], at: 3),
            Self.poll(applied: ["PING1", "M1"], credential: EnrollmentStore.credentialPrefix + "forged", at: 4),
        ])
        #expect(forged.outcomes == [.refused(.unauthenticated), .refused(.unauthenticated), .refused(.invalidCredential)])
        // Another host's serverId with this credential.
        #expect(try store.record([Self.poll(id: Self.otherGUID, credential: enrolled.credential, at: 5)]).outcomes == [.refused(.invalidCredential)])
        host = try #require(try store.host(HostReference(Self.guid)!))
        #expect(host.latest.applied == ["PING1"] && host.pollCount == 1)
        #expect(try store.hostCount() == 1, "nothing else was added")

        // With --check-ins any, unverified hosts are recorded, and still never change the enrolled one.
        let any = CheckInStore(database: temporary.database, acceptance: .any)
        #expect(try any.record([Self.poll(applied: ["PING1", "M1"], at: 6), Self.poll(id: Self.otherGUID, name: "EX02", at: 6)]).outcomes == [.refused(.enrolledHost), .recorded])
        #expect(try any.host(HostReference(Self.otherGUID)!)?.verified == false)
        #expect(try any.host(HostReference(Self.guid)!)?.latest.applied == ["PING1"])

        let audit = try AuditLog(database: temporary.database).entries().items.map { "\($0.actor) \($0.action) \($0.outcome)" }
        #expect(audit.contains { $0.hasPrefix("alice enrollment.create ok: 2 tokens (\(tokens.firstID)-\(tokens.firstID + 1))") })
        #expect(audit.contains { $0.hasPrefix("enrollment-token-\(tokens.firstID) host.enroll ok: host \(enrolled.hostID) EX01 serverId \(Self.guid)") })
    }

    @Test func reenrollingReplacesTheCredentialAndRevokingEndsIt() throws {
        let temporary = try TestDatabase()
        let enrollment = EnrollmentStore(database: temporary.database)
        let store = CheckInStore(database: temporary.database, acceptance: .enrolled)
        let tokens = try enrollment.createTokens(count: 2, validFor: 3600, context: Self.admin)
        let first = try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01", remoteAddress: nil)
        let second = try enrollment.enroll(token: tokens.secrets[1], serverID: Self.guid, serverName: "EX01", remoteAddress: nil)
        #expect(second.reenrolled && second.hostID == first.hostID)
        #expect(try store.record([Self.poll(credential: first.credential)]).outcomes == [.refused(.invalidCredential)])
        #expect(try store.record([Self.poll(credential: second.credential)]).outcomes == [.recorded])

        let revoked = try enrollment.revoke(HostReference("EX01")!, context: Self.admin)
        #expect(!revoked.verified)
        #expect(try store.host(HostReference("EX01")!)?.verified == false)
        #expect(try store.record([Self.poll(credential: second.credential)]).outcomes == [.refused(.invalidCredential)])
        #expect(throws: HostChangeError.notEnrolled("EX01")) { try enrollment.revoke(HostReference("EX01")!, context: Self.admin) }
        let audit = try AuditLog(database: temporary.database).entries().items.map { "\($0.action) \($0.outcome)" }
        #expect(audit.contains { $0.contains("host.enroll ok: host \(first.hostID) EX01 serverId \(Self.guid), re-enrolled") })
        #expect(audit.contains { $0.hasPrefix("host.revoke ok: host \(first.hostID) EX01") })
        #expect(audit.contains { $0.hasPrefix("host.revoke refused: host 'EX01' holds no credential") })
    }

    @Test func badTokensAndRequestsEnrollNothing() throws {
        let temporary = try TestDatabase()
        let enrollment = EnrollmentStore(database: temporary.database)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let tokens = try enrollment.createTokens(count: 1, validFor: 60, context: Self.admin, now: now)
        #expect(throws: EnrollmentError.expiredToken(tokens.firstID, now.addingTimeInterval(60))) {
            try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01", remoteAddress: nil, now: now.addingTimeInterval(61))
        }
        #expect(throws: EnrollmentError.unknownToken) {
            try enrollment.enroll(token: EnrollmentStore.tokenPrefix + "made-up", serverID: Self.guid, serverName: "EX01", remoteAddress: nil, now: now)
        }
        #expect(throws: EnrollmentError.unknownToken) {
            try enrollment.enroll(token: "ocs_an-api-token", serverID: Self.guid, serverName: "EX01", remoteAddress: nil, now: now)
        }
        #expect(throws: EnrollmentError.invalidServerID) {
            try enrollment.enroll(token: tokens.secrets[0], serverID: "{6F1D2C3B-0A4E-4B5C-9D8E-7F6A5B4C3D2E}", serverName: "EX01", remoteAddress: nil, now: now)
        }
        #expect(throws: EnrollmentError.invalidName) {
            try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01<script>", remoteAddress: nil, now: now)
        }
        #expect(throws: EnrollmentError.invalidCount(0)) { try enrollment.createTokens(count: 0, validFor: 3600, context: Self.admin) }
        #expect(throws: EnrollmentError.invalidCount(1001)) { try enrollment.createTokens(count: 1001, validFor: 3600, context: Self.admin) }
        #expect(throws: EnrollmentError.invalidValidity(31 * 86400)) { try enrollment.createTokens(count: 1, validFor: 31 * 86400, context: Self.admin) }
        #expect(try CheckInStore(database: temporary.database).hostCount() == 0)
        // The token still works for its own host within its time.
        _ = try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01", remoteAddress: nil, now: now.addingTimeInterval(30))
    }

    @Test func thePrunerKeepsEnrolledHostsThatWentQuiet() throws {
        let temporary = try TestDatabase()
        let enrollment = EnrollmentStore(database: temporary.database)
        let store = CheckInStore(database: temporary.database)
        let tokens = try enrollment.createTokens(count: 1, validFor: 3600, context: Self.admin)
        let enrolled = try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01", remoteAddress: nil)
        try store.record([Self.poll(credential: enrolled.credential, at: 0), Self.poll(id: Self.otherGUID, name: "EX02", at: 0)])
        #expect(try store.forgetHosts(lastSeenBefore: Date(timeIntervalSince1970: 1_800_000_000 + 10)) == 1)
        #expect(try store.hosts().items.map(\.displayName) == ["EX01"])
        #expect(try store.hostCount() == 1, "an enrolled host is counted as any other")
    }

    /// During an incident: counting only verified hosts, a host that anyone could have reported as
    /// protected does not count.
    @Test func coverageCanCountVerifiedHostsAlone() throws {
        let temporary = try TestDatabase()
        let enrollment = EnrollmentStore(database: temporary.database)
        let store = CheckInStore(database: temporary.database, acceptance: .any)
        let tokens = try enrollment.createTokens(count: 1, validFor: 3600, context: Self.admin)
        let enrolled = try enrollment.enroll(token: tokens.secrets[0], serverID: Self.guid, serverName: "EX01", remoteAddress: nil)
        try store.record([
            Self.poll(applied: ["PING1"], credential: enrolled.credential, at: 0),
            Self.poll(id: Self.otherGUID, name: "EX02", applied: ["PING1", "M1"], at: 0),
        ])
        let fleet = FleetStore(database: temporary.database)
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        let all = try fleet.coverage(of: FleetStoreTests.m1, revision: 1, staleSince: since)
        #expect(all.hosts.inScope == 2 && all.hosts.exposed == 1)
        let verified = try fleet.coverage(of: FleetStoreTests.m1, revision: 1, staleSince: since, verifiedOnly: true)
        #expect(verified.hosts.inScope == 1 && verified.hosts.exposed == 1 && verified.hosts.applied == 0)
        #expect(try fleet.hosts(of: FleetStoreTests.m1, in: CoverageState.exposed, staleSince: since, verifiedOnly: true).items.map(\.displayName) == ["EX01"])
        #expect(try fleet.hosts(of: FleetStoreTests.m1, in: [.applied], staleSince: since, verifiedOnly: true).items.isEmpty)
        let summary = try fleet.summary(rules: [], staleSince: since, staleAfterSeconds: 60)
        #expect(summary.hosts.total == 2 && summary.hosts.verified == 1)
    }

    /// `ocs serve` without --check-ins: a new database records enrolled hosts only; one upgraded
    /// with hosts that checked in before enrollment keeps recording them (an upgrade must not stop
    /// a fleet's check-ins silently).
    @Test func theDefaultFollowsTheDatabase() throws {
        #expect(try ServerState(database: TestDatabase.fresh()).checkInAcceptance() == .enrolled)
        let queue = try DatabaseQueue()
        let before = try #require(OCSDatabase.migrations.map(\.name).last { $0 < "0019" })
        try OCSDatabase.migrator.migrate(queue, upTo: before)
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO hosts (server_id, server_name, applied, blocked, first_seen, last_seen, poll_count)
                VALUES ('\(Self.guid)', 'EX01', '[]', '[]', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000', 1)
                """)
        }
        let upgraded = try OCSDatabase(queue)
        #expect(try ServerState(database: upgraded).checkInAcceptance() == .any)
        #expect(try ServerState(database: upgraded).unverifiedHostCount() == 1)
    }

    /// Anyone can post made-up tokens to /enroll: refusing one must not wait for, or take, the
    /// write lock check-ins commit under. Another connection holds that lock meanwhile.
    @Test func aMadeUpTokenIsRefusedWithoutTheWriteLock() throws {
        let temporary = try TemporaryDatabase()
        let enrollment = EnrollmentStore(database: temporary.database)
        let holder = try DatabaseQueue(path: temporary.path)
        try holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            defer { try? db.execute(sql: "ROLLBACK") }
            // Waiting for the lock would end in the 10 s busy timeout and a storage error.
            #expect(throws: EnrollmentError.unknownToken) {
                try enrollment.enroll(token: EnrollmentStore.tokenPrefix + "made-up", serverID: Self.guid, serverName: "EX01", remoteAddress: nil)
            }
        }
    }
}
