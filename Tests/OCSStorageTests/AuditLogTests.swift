import Foundation
import GRDB
import OCSTestSupport
import Testing
@testable import OCSStorage

struct AuditLogTests {
    @Test func printableEscapesEveryLineBreakingOrInvisibleCharacter() {
        #expect(AuditLog.printable("M1\n2026\r\tx", maximumBytes: 100) == #"M1\n2026\r\tx"#)
        #expect(AuditLog.printable("\u{1B}[31mred\u{7F}\u{2028}\u{202E}", maximumBytes: 100) == #"\u{1B}[31mred\u{7F}\u{2028}\u{202E}"#)
        #expect(AuditLog.printable("Zürich ok: M1 (reader)", maximumBytes: 100) == "Zürich ok: M1 (reader)", "printable text is kept as it is")
    }

    @Test func printableCutsToTheByteLimitAndSaysHowMuch() {
        let cut = AuditLog.printable(String(repeating: "A", count: 70_000), maximumBytes: 200)
        #expect(cut.utf8.count <= 200)
        #expect(cut.hasPrefix("AAAA") && cut.hasSuffix("…(69824 more bytes)"))
        let accents = AuditLog.printable(String(repeating: "é", count: 300), maximumBytes: 51)
        #expect(accents.utf8.count <= 51 && accents.hasPrefix("éé"), "never cuts inside a character")
    }

    /// The forged-line attack, as the store would have recorded it: one entry, escaped, bounded.
    @Test func appendStoresEveryFieldOnOneLineAndBounded() throws {
        let temporary = try TestDatabase()
        let log = AuditLog(database: temporary.database)
        let forged = "M1\n2026-01-01T00:00:00Z  admin  rule.publish  EVIL  ok"
        try log.append(AuditEntry(
            actor: "rita", action: "rule.put", ruleID: forged, revision: nil, remoteAddress: "127.0.0.1",
            outcome: "refused: 403 " + forged + String(repeating: "x", count: 70_000)
        ))
        let entries = try log.entries().items
        #expect(entries.count == 1)
        let entry = try #require(entries.first)
        #expect(entry.ruleID == #"M1\n2026-01-01T00:00:00Z  admin  rule.publish  EVIL  ok"#)
        #expect(entry.outcome.hasPrefix(#"refused: 403 M1\n2026"#))
        #expect(entry.outcome.utf8.count <= AuditLog.maximumOutcomeBytes)
        for text in [entry.actor, entry.action, entry.ruleID ?? "", entry.remoteAddress ?? "", entry.outcome] {
            #expect(!text.unicodeScalars.contains { $0.properties.generalCategory == .control })
        }
    }

    @Test func entriesPageNewestFirstWhenAsked() throws {
        let temporary = try TestDatabase()
        let log = AuditLog(database: temporary.database)
        for index in 1...5 {
            try log.append(AuditEntry(actor: "a", action: "rule.put", ruleID: "R\(index)", revision: nil, remoteAddress: nil, outcome: "ok", reason: "INC-\(index)"))
        }
        let first = try log.entries(AuditLog.Filter(newestFirst: true), page: PageRequest(limit: 2))
        #expect(first.items.map(\.ruleID) == ["R5", "R4"] && first.items.first?.reason == "INC-5")
        let second = try log.entries(AuditLog.Filter(newestFirst: true), page: PageRequest(limit: 2, cursor: try #require(first.next)))
        #expect(second.items.map(\.ruleID) == ["R3", "R2"])
        #expect(try log.entries(page: PageRequest(limit: 2)).items.map(\.ruleID) == ["R1", "R2"])
    }
}
