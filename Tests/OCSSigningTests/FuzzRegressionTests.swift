import Foundation
import Testing
import OCSSigning

/// Inputs that `Fuzz/run.sh` (FuzzFeedVerifier) found, kept so that what they broke stays fixed.
struct FuzzRegressionTests {
    func refusal(_ document: Data) async throws -> String {
        do {
            _ = try await FeedVerifier(trust: .certificate(FeedVerifierTests.identity.certificate)).verify(document)
        } catch {
            return error.description
        }
        Issue.record("the document verified")
        return ""
    }

    /// FuzzFeedVerifier's first finding, a signed feed whose declaration said `version="1.\r0"`
    /// (here cut down to the declaration): the refusal echoed the value with its line break, so
    /// `ocs verify` printed two lines.
    @Test func aLineBreakInTheDeclarationIsEscaped() async throws {
        let line = try await refusal(Data("<?xml version=\"1.\r0\" encoding=\"utf-8\"?>\n<EOCS></EOCS>".utf8))
        #expect(line == #"not a well-formed feed: line 2: the XML declaration says version 1.\n0; only XML 1.0 is read"#)
    }

    /// The same through a character reference, which the parser keeps in an attribute value and
    /// the signature profile echoes when it refuses an algorithm.
    @Test func aReferencedLineBreakInAnAlgorithmIsEscaped() async throws {
        let feed = String(decoding: try FeedVerifierTests.signedFeed(), as: UTF8.self)
        let changed = feed.replacingOccurrences(of: "#enveloped-signature\"", with: "#enveloped-signature&#10;&#x85;\"")
        #expect(changed != feed)
        let line = try await refusal(Data(changed.utf8))
        #expect(line.hasPrefix(#"unexpected transforms: http://www.w3.org/2000/09/xmldsig#enveloped-signature\n\u{0085}"#))
        #expect(!line.contains { $0.isNewline })
    }
}
