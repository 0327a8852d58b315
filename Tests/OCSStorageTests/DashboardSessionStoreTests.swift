import Foundation
import OCSDomain
@testable import OCSStorage
import OCSTestSupport
import Testing

@Suite("Dashboard sessions")
struct DashboardSessionTests {
    @Test func aReporterTokenOpensNoSession() throws {
        let temporary = try TestDatabase()
        let secret = try TokenStore(database: temporary.database).create(name: "inventory", role: .reporter, context: .localUser)
        #expect(try DashboardSessionStore(database: temporary.database).open(apiSecret: secret, remoteAddress: nil) == nil)
    }

    @Test func sessionsAreHashedExpireAndEndWithTheirToken() throws {
        let temporary = try TestDatabase()
        let tokens = TokenStore(database: temporary.database)
        let sessions = DashboardSessionStore(database: temporary.database)
        let secret = try tokens.create(name: "alice", role: .publisher, context: .localUser)
        #expect(try sessions.open(apiSecret: "wrong", remoteAddress: nil) == nil)
        let start = Date()
        let opened = try #require(try sessions.open(apiSecret: secret, remoteAddress: "127.0.0.1", now: start))
        #expect(opened.session.actor == "alice" && opened.session.role == .publisher)
        let found = try #require(try sessions.session(secret: opened.secret, now: start.addingTimeInterval(60)))
        #expect(found.id == opened.session.id && found.csrf == opened.session.csrf && found.role == .publisher)
        #expect(abs(found.expiresAt.timeIntervalSince(start) - 8 * 3600) < 1)
        #expect(try sessions.session(secret: opened.secret, now: start.addingTimeInterval(8 * 3600 + 1)) == nil)
        #expect(try sessions.session(secret: opened.secret + "x", now: start) == nil)
        try sessions.close(secret: opened.secret)
        #expect(try sessions.session(secret: opened.secret, now: start) == nil)

        let again = try #require(try sessions.open(apiSecret: secret, remoteAddress: nil))
        try tokens.revoke(name: "alice", context: .localUser)
        #expect(try sessions.session(secret: again.secret) == nil)
        // Sign-ins are audited.
        #expect(try AuditLog(database: temporary.database).entries(AuditLog.Filter(actor: "alice")).items.contains { $0.action == DashboardSessionStore.signInAction })
    }
}
