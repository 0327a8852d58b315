import OCSRuleFiles
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test func typesStayApart() throws {
        let value = try JSONValue.parse(Array(#"{"a": true, "b": 1, "c": "1", "d": null, "e": [1.5], "f": {"g": "h"}}"#.utf8))
        let object = try #require(value.object)
        #expect(object["a"] == .bool(true) && object["a"]?.integer == nil && object["a"]?.string == nil)
        #expect(object["b"]?.integer == 1 && object["b"]?.bool == nil && object["b"]?.string == nil)
        #expect(object["c"]?.string == "1" && object["c"]?.integer == nil)
        #expect(object["d"] == .null)
        #expect(object["e"]?.array == [.number(1.5)] && object["e"]?.array?.first?.integer == nil && object["e"]?.strings == nil)
        #expect(object["f"]?.object?["g"]?.string == "h")
        #expect(try JSONValue.parse(Array(#"["a", "b"]"#.utf8)).strings == ["a", "b"])
        #expect(try JSONValue.parse(Array("1e300".utf8)).integer == nil)
    }

    @Test func malformedAndDeepDocumentsAreRefused() throws {
        for text in ["", "{", "{\"a\": }", "[1 2]", "nul", "'a'"] {
            #expect(throws: JSONValue.Refusal.malformed, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
        }
        let deep = String(repeating: "[", count: 17) + String(repeating: "]", count: 17)
        #expect(throws: JSONValue.Refusal.tooDeep(depth: 17)) { try JSONValue.parse(Array(deep.utf8)) }
        // Brackets inside text are text, not depth.
        let quoted = "[\"" + String(repeating: "[", count: 40) + "\"]"
        #expect(try JSONValue.parse(Array(quoted.utf8)).strings?.first?.count == 40)
    }
}
