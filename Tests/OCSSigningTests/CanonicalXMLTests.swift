import Foundation
import OCSTestSupport
import OCSXML
import Testing
@testable import OCSSigning

/// The canonical form the signature's digests are computed over.
struct CanonicalXMLTests {
    /// xmllint's `--c14n` (libxml2's Canonical XML 1.0) is the judge of our canonical form.
    @Test func canonicalFormMatchesXmllint() throws {
        let documents = [
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<EOCS z=\"1\" b='2' xmlns:p=\"urn:p\" p:a=\"&#9;x&#xA;y\r\nz\" a=\"&lt;&gt;&quot;\">\r\n"
                + "  <Config id=\"M&amp;1\"><Empty /><p:Child xmlns=\"urn:d\"><Inner xmlns=\"\">t&gt;&#xD;</Inner></p:Child></Config>\r\n</EOCS>\r\n",
            try String(contentsOfFile: SharedData.microsoftFeed, encoding: .utf8),
        ]
        for document in documents {
            let scratch = try ScratchFolder()
            let file = scratch.path("doc.xml")
            try Data(document.utf8).write(to: URL(fileURLWithPath: file))
            let xmllint = try Command.run("xmllint", ["--c14n", file])
            #expect(xmllint.status == 0, "\(xmllint.stderr)")
            let ours = CanonicalXML.serialize(try StrictXMLParser.parse(Data(document.utf8)))
            #expect(ours == xmllint.output)
        }
    }
}
