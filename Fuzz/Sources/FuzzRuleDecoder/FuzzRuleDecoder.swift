import Foundation
import FuzzSupport
import OCSRuleFiles

// libFuzzer target: one rule document, YAML or JSON (which YAML contains), through
// `RuleDocumentDecoder`, as `ocs rules validate/import` and the admin API read them.
// Nothing may crash, hang or blow up memory; a refusal names at least one problem, each on a
// line of the document; an accepted rule's id line is in the document, and the rule encodes
// (as `ocs rules export` writes it) to YAML that decodes back to the same rule.

private let decoder = RuleDocumentDecoder()

@main
enum Main {
    static func main() { runFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    // Lines the document has (YAML counts CR, LF and CR LF as line ends, and a last line
    // without one), with slack for a problem reported just past the end.
    let lines = text.reduce(into: 1) { count, character in if character.isNewline { count += 1 } } + 1
    switch decoder.decode(text, file: "fuzz.yaml") {
    case .success(let decoded):
        require(decoded.idLine >= 1 && decoded.idLine <= lines, "the id line \(decoded.idLine) is outside the document's \(lines) lines")
        let yaml: String
        do { yaml = try RuleDocumentEncoder().yaml(for: decoded.rule) } catch {
            fatalError("an accepted rule does not encode: \(error)")
        }
        switch decoder.decode(yaml, file: "export.yaml") {
        case .success(let again):
            require(again.rule == decoded.rule, "the exported rule decodes to another rule:\n\(yaml)")
        case .failure(let invalid):
            fatalError("the exported rule does not decode: \(invalid)\n\(yaml)")
        }
    case .failure(let invalid):
        require(!invalid.problems.isEmpty, "a refusal without a problem")
        for problem in invalid.problems {
            require(problem.line >= 1 && problem.line <= lines, "a problem on line \(problem.line) of a document of \(lines) lines: \(problem)")
        }
        _ = invalid.description
    }
    return 0
}
