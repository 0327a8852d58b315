import Foundation
import OCSTestSupport
import Testing
@testable import OCSXML

struct StrictXMLParserTests {
    /// The reason the parser gives for `text`, or nil when it accepts it.
    func refusal(_ bytes: Data, limits: StrictXMLParser.Limits = .init()) -> String? {
        do {
            _ = try StrictXMLParser.parse(bytes, limits: limits)
            return nil
        } catch {
            return error.description
        }
    }

    func refusal(_ text: String, limits: StrictXMLParser.Limits = .init()) -> String? {
        refusal(Data(text.utf8), limits: limits)
    }

    @Test func refusesEveryConstructAFeedNeverHas() {
        let cases: [(String, String)] = [
            ("", "the file is empty"),
            ("   \n", "no root element"),
            (#"<!DOCTYPE EOCS [<!ENTITY x "y">]><EOCS>&x;</EOCS>"#, "a DOCTYPE"),
            (#"<!DOCTYPE EOCS SYSTEM "http://127.0.0.1:1/x.dtd"><EOCS/>"#, "a DOCTYPE"),
            (#"<!ENTITY x "y"><EOCS/>"#, "an entity declaration"),
            (#"<EOCS><![CDATA[<Config id="X"/>]]></EOCS>"#, "a CDATA section"),
            ("<EOCS><!-- note --></EOCS>", "a comment"),
            ("<!-- note --><EOCS/>", "a comment"),
            (#"<?xml-stylesheet href="x"?><EOCS/>"#, "a processing instruction"),
            ("<EOCS><?php run() ?></EOCS>", "a processing instruction"),
            ("<EOCS/><?pi?>", "a processing instruction"),
            ("\n<?xml version=\"1.0\"?><EOCS/>", "a processing instruction"),
            (#"<?xml version="1.0" encoding="ISO-8859-1"?><EOCS/>"#, "encoding ISO-8859-1; a feed must be UTF-8"),
            (#"<?xml version="1.0" encoding="UTF-16"?><EOCS/>"#, "encoding UTF-16; a feed must be UTF-8"),
            (#"<?xml version="1.1"?><EOCS/>"#, "version 1.1"),
            (#"<?xml encoding="utf-8"?><EOCS/>"#, "malformed"),
            ("<EOCS>&x;</EOCS>", "&x; is not one of XML's five predefined entities"),
            ("<EOCS a=\"&ext;\"/>", "&ext; is not one of XML's five predefined entities"),
            ("<EOCS>&#0;</EOCS>", "&#0; is not a reference to a character XML allows"),
            ("<EOCS>&#xD800;</EOCS>", "&#xD800; is not a reference"),
            ("<EOCS>a & b</EOCS>", "an & must start a reference"),
            ("<EOCS>\u{1}</EOCS>", "U+0001 is not allowed"),
            ("<EOCS></EOCS><EOCS></EOCS>", "a second root element <EOCS>"),
            ("<EOCS></EOCS>trailing", "text after </EOCS>"),
            ("text<EOCS></EOCS>", "text before the root element"),
            ("<EOCS><Config>", "the document ends inside <Config>"),
            ("<EOCS><Config></EOCS>", "</EOCS> closes <Config>"),
            ("<EOCS a=\"1\" a=\"2\"/>", "the attribute a appears twice"),
            (#"<EOCS xmlns:p="urn:a" xmlns:q="urn:a" p:x="1" q:x="2"/>"#, "the attribute x in namespace urn:a appears twice"),
            ("<p:EOCS/>", "the prefix p of <p:EOCS> is not bound"),
            ("<EOCS q:a=\"1\"/>", "the prefix q of the attribute q:a is not bound"),
            (#"<EOCS xmlns:p=""/>"#, "declared with an empty namespace"),
            (#"<EOCS xmlns:xml="urn:other"/>"#, "the prefix xml can only be bound"),
            ("<EOCS a=\"<\"/>", "< is not allowed in an attribute value"),
            ("<EOCS a=1/>", "an attribute value must be quoted"),
            ("<EOCS>]]></EOCS>", "]]> is not allowed in text"),
            ("<a:b:c xmlns:a=\"urn:a\"/>", "not a valid qualified name"),
        ]
        for (text, expected) in cases {
            let reason = refusal(text)
            #expect(reason?.contains(expected) == true, "\(text.debugDescription): \(reason ?? "accepted")")
        }
    }

    @Test func readsUTF8OnlyAndSaysWhichEncodingItRefused() {
        let document = #"<?xml version="1.0" encoding="utf-8"?><EOCS/>"#
        #expect(refusal(document) == nil)
        #expect(refusal(Data([0xEF, 0xBB, 0xBF]) + Data(document.utf8)) == nil, "a UTF-8 byte-order mark is fine")
        let utf16LE = Data([0xFF, 0xFE]) + document.data(using: .utf16LittleEndian)!
        let utf16BE = Data([0xFE, 0xFF]) + document.data(using: .utf16BigEndian)!
        #expect(refusal(utf16LE)?.contains("UTF-16 (it has a UTF-16 byte-order mark)") == true)
        #expect(refusal(utf16BE)?.contains("UTF-16 (it has a UTF-16 byte-order mark)") == true)
        #expect(refusal(document.data(using: .utf16LittleEndian)!)?.contains("the document is UTF-16;") == true)
        #expect(refusal(Data([0xFF, 0xFE, 0, 0]) + document.data(using: .utf32LittleEndian)!)?.contains("UTF-32") == true)
        #expect(refusal(Data("<EOCS a=\"".utf8) + Data([0xC3, 0x28]) + Data("\"/>".utf8))?.contains("not valid UTF-8") == true)
    }

    @Test func boundsSizeDepthAttributesAndNames() {
        var small = StrictXMLParser.Limits()
        small.maximumBytes = 100
        #expect(refusal(String(repeating: " ", count: 101) + "<EOCS/>", limits: small)?.contains("over the limit of 100") == true)
        let deep = String(repeating: "<a>", count: 33) + String(repeating: "</a>", count: 33)
        #expect(refusal(deep)?.contains("deeper than 32 levels") == true)
        #expect(refusal(String(repeating: "<a>", count: 32) + String(repeating: "</a>", count: 32)) == nil)
        let attributes = (1...33).map { "a\($0)=\"\"" }.joined(separator: " ")
        #expect(refusal("<EOCS \(attributes)/>")?.contains("more than 32 attributes") == true)
        #expect(refusal("<\(String(repeating: "n", count: 129))/>")?.contains("longer than 128 characters") == true)
        // A huge flat document stays linear: 100,000 elements parse.
        #expect(refusal("<EOCS>" + String(repeating: "<C id=\"x\"/>", count: 100_000) + "</EOCS>") == nil)
    }

    @Test func normalizesLineEndsReferencesAndAttributeValues() throws {
        let root = try StrictXMLParser.parse(Data("<EOCS a=\"x&#9;y\tz\r\nw &lt;&amp;&quot;&apos;&gt;\">1\r\n2\r3&#xD;&#65;</EOCS>".utf8))
        #expect(root.attribute("a") == "x\ty z w <&\"'>")
        #expect(root.text == "1\n2\n3\rA")
    }

    @Test func resolvesNamespacesOnElementsAndAttributes() throws {
        let root = try StrictXMLParser.parse(Data(#"<EOCS xmlns:p="urn:p"><p:A p:x="1" y="2"><B xmlns="urn:d"/></p:A></EOCS>"#.utf8))
        let a = root.elements[0]
        #expect(a.namespaceURI == "urn:p" && a.localName == "A")
        #expect(a.attributes.map(\.namespaceURI) == ["urn:p", ""])
        #expect(a.elements[0].namespaceURI == "urn:d")
        #expect(root.namespaceURI == "")
    }
}
