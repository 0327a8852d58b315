import Foundation
import OCSDomain
import OCSTestSupport
import Testing
@testable import OCSStorage

/// Microsoft's documents kept once each, verbatim and append-only, on either engine.
struct UpstreamStoreTests {
    static let verified = UpstreamStore.Verified(configIDs: ["PING1"], signer: "CN=Microsoft Exchange XML Signing", stampedAt: Date(timeIntervalSince1970: 1_631_724_128))

    @Test func eachDistinctDocumentIsKeptOnceVerbatimAndSeenAgain() throws {
        let temporary = try TestDatabase()
        let store = UpstreamStore(database: temporary.database)
        #expect(try store.current() == nil)
        let body = Data("<EOCS>\r\n  <Config id=\"PING1\"/>\r\n</EOCS>\r\n".utf8)
        let first = try store.keep(body, verified: Self.verified, origin: "https://example.test/getexchangemitigations", context: .localUser, at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(first.isNew && first.document.size == body.count && first.document.configIDs == ["PING1"])
        #expect(first.document.digest.count == 64 && first.document.digest.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(first.document.stampedAt == Self.verified.stampedAt)
        // The same bytes again: no new row, last seen moves; an earlier clock never moves it back.
        let again = try store.keep(body, verified: Self.verified, origin: "import", context: .localUser, at: Date(timeIntervalSince1970: 1_800_003_600))
        #expect(!again.isNew && again.document.id == first.document.id && again.document.origin == first.document.origin)
        #expect(again.document.firstSeen == first.document.firstSeen && again.document.lastSeen == Date(timeIntervalSince1970: 1_800_003_600))
        let back = try store.keep(body, verified: Self.verified, origin: "import", context: .localUser, at: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(back.document.lastSeen == Date(timeIntervalSince1970: 1_800_003_600))
        // Other bytes are another document, and the one seen last is what Microsoft serves now.
        let changed = Data("<EOCS><Config id=\"PING1\"/><Config id=\"M9\"/></EOCS>".utf8)
        let second = try store.keep(
            changed, verified: UpstreamStore.Verified(configIDs: ["PING1", "M9"], signer: "s", stampedAt: nil), origin: "import", context: .localUser,
            at: Date(timeIntervalSince1970: 1_800_007_200)
        )
        #expect(second.isNew && second.document.stampedAt == nil)
        #expect(try store.current()?.id == second.document.id)
        #expect(try store.body(digest: first.document.digest) == body && store.body(digest: second.document.digest) == changed)
        #expect(try store.body(digest: String(repeating: "0", count: 64)) == nil)
        // Newest first, a page at a time.
        let page = try store.documents(page: PageRequest(limit: 1))
        #expect(page.items.map(\.id) == [second.document.id])
        #expect(try store.documents(page: PageRequest(limit: 1, cursor: try #require(page.next))).items.map(\.id) == [first.document.id])
        // Each new document is audited once.
        let audited = try AuditLog(database: temporary.database).entries(AuditLog.Filter()).items.filter { $0.action == UpstreamStore.keepAction }
        #expect(audited.count == 2)
    }

    @Test func keptDocumentsCannotBeChangedOrDeleted() throws {
        let temporary = try TestDatabase()
        let store = UpstreamStore(database: temporary.database)
        _ = try store.keep(Data("<EOCS/>".utf8), verified: Self.verified, origin: "import", context: .localUser)
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE upstream_documents SET body = ?", [Data("x".utf8)]) } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("UPDATE upstream_documents SET config_ids = '[]'") } }
        #expect(throws: (any Error).self) { try temporary.database.write { try $0.execute("DELETE FROM upstream_documents") } }
        #expect(try store.body(digest: try #require(try store.current()).digest) == Data("<EOCS/>".utf8))
    }
}
