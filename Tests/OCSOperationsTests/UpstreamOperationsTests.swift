import Foundation
import OCSDomain
import OCSOperations
import OCSStorage
import OCSTestSupport
import Testing

/// Microsoft's documents on either engine: the genuine one is kept once, verified at its stamped
/// time; what ships without a rule in ocs is named; a document that does not verify keeps nothing.
struct UpstreamOperationsTests {
    static let time = Date(timeIntervalSince1970: 1_800_000_000)

    static func genuine() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: SharedData.microsoftFeed))
    }

    @Test func theGenuineDocumentIsKeptOnceAndWhatHasNoRuleIsNamed() async throws {
        let operations = Operations(database: try TestDatabase.fresh())
        #expect(try operations.upstream.status() == UpstreamStatus(current: nil, withoutRule: []))
        let kept = try await operations.upstream.keep(try Self.genuine(), origin: "import", context: .localUser, at: Self.time)
        #expect(kept.isNew && kept.document.configIDs == ["PING1"] && kept.withoutRule == ["PING1"])
        #expect(kept.document.stampedAt.map { abs($0.timeIntervalSince1970 - 1_631_724_128.621) < 0.01 } == true, "\(String(describing: kept.document.stampedAt))")
        #expect(kept.document.signer.contains("Microsoft Exchange XML Signing"))
        let again = try await operations.upstream.keep(try Self.genuine(), origin: "import", context: .localUser, at: Self.time.addingTimeInterval(3600))
        #expect(!again.isNew && again.document.id == kept.document.id)
        // A draft counts as taken up.
        try operations.rules.put(Mitigation(id: "PING1", description: "d", state: .draft, actions: [.doNothing(description: nil)]), context: .localUser)
        #expect(try operations.upstream.status().withoutRule == [])
    }

    @Test func aDocumentThatDoesNotVerifyKeepsNothing() async throws {
        let operations = Operations(database: try TestDatabase.fresh())
        let genuine = try Self.genuine()
        var flipped = genuine
        // A byte of the signed content: the digest no longer matches.
        let index = try #require(genuine.firstIndex(of: UInt8(ascii: "P")))
        flipped[index] = UInt8(ascii: "Q")
        for (name, bytes) in [("changed", flipped), ("truncated", genuine.prefix(genuine.count - 40)), ("empty", Data())] {
            await #expect(throws: OperationError.self, "\(name)") {
                _ = try await operations.upstream.keep(bytes, origin: "import", context: .localUser, at: Self.time)
            }
        }
        #expect(try operations.upstream.status().current == nil)
        #expect(try operations.upstreamDocuments.documents().items.isEmpty)
    }
}
