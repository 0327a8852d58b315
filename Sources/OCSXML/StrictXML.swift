import Foundation
import OCSDomain

/// An element of a document read by `StrictXMLParser`, its names resolved against its namespaces.
public struct XMLTreeElement: Sendable, Equatable {
    public let qualifiedName: String
    public let localName: String
    /// The element's namespace; empty when it has none.
    public let namespaceURI: String
    /// Namespace declarations made on this element: prefix ("" for the default) to URI.
    public let namespaceDeclarations: [String: String]
    public let attributes: [XMLTreeAttribute]
    public let children: [XMLTreeNode]
    /// Where the start tag is, for error messages.
    public let line: Int

    /// The value of the un-namespaced attribute `localName`.
    public func attribute(_ localName: String) -> String? {
        attributes.first { $0.namespaceURI.isEmpty && $0.localName == localName }?.value
    }

    /// The child elements, in document order.
    public var elements: [XMLTreeElement] {
        children.compactMap { if case .element(let element) = $0 { element } else { nil } }
    }

    /// The text children, joined.
    public var text: String {
        children.map { if case .text(let text) = $0 { text } else { "" } }.joined()
    }
}

/// An attribute as the parser normalized it (references expanded, whitespace normalized).
public struct XMLTreeAttribute: Sendable, Equatable {
    public let qualifiedName: String
    public let localName: String
    public let namespaceURI: String
    public let value: String
}

/// Element content: an element or a run of character data.
public enum XMLTreeNode: Sendable, Equatable {
    case element(XMLTreeElement)
    case text(String)
}

/// Why a document is not one this parser reads, with the line it was found on.
public struct XMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line, when the problem is at a place in the text.
    public let line: Int?
    public let reason: String

    /// One line: a line break or other control character in text echoed from the document
    /// (a declaration's value, a reference, a namespace) is written as an escape such as `\n`.
    public var description: String {
        OneLineText.escaping(line.map { "line \($0): \(reason)" } ?? reason)
    }
}

/// A strict, self-contained reader of the XML an EOCS feed or a PowerShell CliXml export may
/// contain, and nothing more.
///
/// It reads UTF-8 only and refuses every DTD, entity declaration, CDATA section, comment and
/// processing instruction, so no entity is ever expanded and no file or URL is ever opened: the
/// parser has no I/O at all. It checks well-formedness and namespace bindings, normalizes line
/// ends and attribute values as XML 1.0 requires, and bounds size, depth, attribute count and
/// name length so that time and memory stay bounded.
public struct StrictXMLParser {
    /// Bounds on what a document may hold, and what it is called in messages.
    public struct Limits: Sendable {
        /// A feed of every rule is far below this; Microsoft's is 19 KB.
        public var maximumBytes = 4 << 20
        public var maximumDepth = 32
        public var maximumAttributes = 32
        public var maximumNameLength = 128
        /// The kind of document, as messages name it ("a feed must be UTF-8").
        public var documentName = "a feed"

        public init() {}
    }

    public static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"
    public static let xmlnsNamespace = "http://www.w3.org/2000/xmlns/"

    private let scalars: [Unicode.Scalar]
    private let limits: Limits
    private var position = 0
    private var line = 1

    /// The root element of `data`, or why `data` is not a document this parser reads.
    public static func parse(_ data: Data, limits: Limits = Limits()) throws(XMLSyntaxError) -> XMLTreeElement {
        var parser = StrictXMLParser(scalars: try decode(data, limits: limits), limits: limits)
        return try parser.document()
    }

    private init(scalars: [Unicode.Scalar], limits: Limits) {
        self.scalars = scalars
        self.limits = limits
    }

    // MARK: Bytes to characters

    /// The UTF-8 text as Unicode scalars, line ends normalized to LF, after refusing every other encoding.
    private static func decode(_ data: Data, limits: Limits) throws(XMLSyntaxError) -> [Unicode.Scalar] {
        guard !data.isEmpty else { throw XMLSyntaxError(line: nil, reason: "the file is empty") }
        guard data.count <= limits.maximumBytes else {
            throw XMLSyntaxError(line: nil, reason: "the document is \(data.count) bytes, over the limit of \(limits.maximumBytes)")
        }
        var bytes = Array(data)
        if let encoding = foreignEncoding(bytes) {
            throw XMLSyntaxError(line: 1, reason: "the document is \(encoding); \(limits.documentName) must be UTF-8, no other encoding is read")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(bytes.count)
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var line = 1
        var afterCarriageReturn = false
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                guard XMLText.isAllowed(scalar) else {
                    throw XMLSyntaxError(line: line, reason: "the character U+\(hex(scalar)) is not allowed in XML")
                }
                // XML 1.0 §2.11: CR LF and a lone CR both become LF before parsing.
                if scalar == "\n" && afterCarriageReturn {
                    afterCarriageReturn = false
                    continue
                }
                afterCarriageReturn = scalar == "\r"
                scalars.append(afterCarriageReturn ? "\n" : scalar)
                if afterCarriageReturn || scalar == "\n" { line += 1 }
            case .emptyInput:
                break decoding
            case .error:
                throw XMLSyntaxError(line: line, reason: "the document is not valid UTF-8; \(limits.documentName) must be UTF-8")
            }
        }
        return scalars
    }

    /// The encoding the first bytes announce when it is not UTF-8 (a byte-order mark or the
    /// zero bytes of a wide `<`), so that no such document is ever read as something else.
    private static func foreignEncoding(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { return "UTF-32 (it has a UTF-32 byte-order mark)" }
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) { return "UTF-16 (it has a UTF-16 byte-order mark)" }
        if bytes.starts(with: [0x00, 0x00, 0x00, 0x3C]) || bytes.starts(with: [0x3C, 0x00, 0x00, 0x00]) { return "UTF-32" }
        if bytes.starts(with: [0x00, 0x3C]) || bytes.starts(with: [0x3C, 0x00]) { return "UTF-16" }
        if bytes.starts(with: [0x4C, 0x6F, 0xA7, 0x94]) { return "EBCDIC" }
        return nil
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    // MARK: Document

    private mutating func document() throws(XMLSyntaxError) -> XMLTreeElement {
        if has("<?xml") && isWhitespace(peek(5)) { try xmlDeclaration() }
        try miscellany()
        guard has("<") else {
            throw fail(position >= scalars.count ? "the document has no root element" : "text before the root element")
        }
        let root = try element(depth: 1, scope: ["xml": Self.xmlNamespace])
        try miscellany()
        if position < scalars.count {
            if has("<") {
                advance()
                let name = (try? self.name()) ?? "?"
                throw fail("a second root element <\(name)> after </\(root.qualifiedName)>; a document has exactly one")
            }
            throw fail("text after </\(root.qualifiedName)>; only whitespace may follow the root element")
        }
        return root
    }

    /// `<?xml version="1.0" encoding="utf-8" standalone="..."?>`, each checked.
    private mutating func xmlDeclaration() throws(XMLSyntaxError) {
        skip(5)
        var seen: [String] = []
        while true {
            let hadSpace = skipWhitespace()
            if has("?>") { skip(2); break }
            guard hadSpace, position < scalars.count else { throw fail("the XML declaration is malformed") }
            let name = try self.name()
            skipWhitespace()
            try expect("=", "after \(name) in the XML declaration")
            skipWhitespace()
            let value = try quotedLiteral()
            switch (name, seen) {
            case ("version", []):
                guard value == "1.0" else { throw fail("the XML declaration says version \(value); only XML 1.0 is read") }
            case ("encoding", ["version"]):
                guard value.lowercased() == "utf-8" else { throw fail("the XML declaration says encoding \(value); \(limits.documentName) must be UTF-8") }
            case ("standalone", ["version"]), ("standalone", ["version", "encoding"]):
                guard value == "yes" || value == "no" else { throw fail("standalone must be yes or no in the XML declaration") }
            default:
                throw fail("the XML declaration is malformed at \(name)")
            }
            seen.append(name)
        }
        guard seen.first == "version" else { throw fail("the XML declaration has no version") }
    }

    /// What may stand outside the root element here: whitespace only.
    private mutating func miscellany() throws(XMLSyntaxError) {
        skipWhitespace()
        try refuseDeclarationsAndInstructions()
    }

    /// Refuses `<!...` (DOCTYPE, ENTITY, CDATA, comments) and `<?...` at the current position.
    private mutating func refuseDeclarationsAndInstructions() throws(XMLSyntaxError) {
        let name = limits.documentName
        if has("<!--") { throw fail("a comment; \(name) has none and none are read") }
        if has("<![CDATA[") { throw fail("a CDATA section; \(name) has none and none are read") }
        if has("<!DOCTYPE") { throw fail("a DOCTYPE; \(name) never has a DTD and none is ever read") }
        if has("<!ENTITY") { throw fail("an entity declaration; \(name) never has one and none is ever read") }
        if has("<!") { throw fail("a markup declaration (<!...); \(name) never has one and none is ever read") }
        if has("<?") { throw fail("a processing instruction; \(name) has none and none are run") }
    }

    // MARK: Elements

    private mutating func element(depth: Int, scope inherited: [String: String]) throws(XMLSyntaxError) -> XMLTreeElement {
        guard depth <= limits.maximumDepth else { throw fail("elements nest deeper than \(limits.maximumDepth) levels") }
        let startLine = line
        advance()  // "<"
        let qualifiedName = try name()
        var rawAttributes: [(name: String, value: String)] = []
        var isEmpty = false
        while true {
            let hadSpace = skipWhitespace()
            if has("/>") { skip(2); isEmpty = true; break }
            if has(">") { advance(); break }
            guard position < scalars.count else { throw cutOff(qualifiedName, startLine) }
            guard hadSpace else { throw fail("expected whitespace, > or /> in the start tag <\(qualifiedName)>") }
            let attributeName = try name()
            skipWhitespace()
            try expect("=", "after the attribute \(attributeName) of <\(qualifiedName)>")
            skipWhitespace()
            let value = try attributeValue()
            guard !rawAttributes.contains(where: { $0.name == attributeName }) else {
                throw fail("the attribute \(attributeName) appears twice on <\(qualifiedName)>")
            }
            rawAttributes.append((attributeName, value))
            guard rawAttributes.count <= limits.maximumAttributes else {
                throw fail("<\(qualifiedName)> has more than \(limits.maximumAttributes) attributes")
            }
        }

        var declarations: [String: String] = [:]
        var plainAttributes: [(name: String, value: String)] = []
        for attribute in rawAttributes {
            if attribute.name == "xmlns" {
                try checkBinding(prefix: "", uri: attribute.value)
                declarations[""] = attribute.value
            } else if attribute.name.hasPrefix("xmlns:") {
                let prefix = String(attribute.name.dropFirst(6))
                try checkBinding(prefix: prefix, uri: attribute.value)
                declarations[prefix] = attribute.value
            } else {
                plainAttributes.append(attribute)
            }
        }
        let scope = inherited.merging(declarations) { $1 }
        let (prefix, localName) = try split(qualifiedName)
        let namespaceURI: String
        if let prefix {
            guard let uri = scope[prefix], !uri.isEmpty else { throw fail("the prefix \(prefix) of <\(qualifiedName)> is not bound to a namespace") }
            namespaceURI = uri
        } else {
            namespaceURI = scope[""] ?? ""
        }
        var attributes: [XMLTreeAttribute] = []
        for attribute in plainAttributes {
            let (attributePrefix, attributeLocal) = try split(attribute.name)
            var uri = ""
            if let attributePrefix {
                guard let bound = scope[attributePrefix], !bound.isEmpty else {
                    throw fail("the prefix \(attributePrefix) of the attribute \(attribute.name) is not bound to a namespace")
                }
                uri = bound
            }
            guard !attributes.contains(where: { $0.namespaceURI == uri && $0.localName == attributeLocal }) else {
                throw fail("the attribute \(attributeLocal) in namespace \(uri) appears twice on <\(qualifiedName)>")
            }
            attributes.append(XMLTreeAttribute(qualifiedName: attribute.name, localName: attributeLocal, namespaceURI: uri, value: attribute.value))
        }

        let children = isEmpty ? [] : try content(of: qualifiedName, openedAt: startLine, depth: depth, scope: scope)
        return XMLTreeElement(
            qualifiedName: qualifiedName, localName: localName, namespaceURI: namespaceURI,
            namespaceDeclarations: declarations, attributes: attributes, children: children, line: startLine
        )
    }

    /// Children up to and including the end tag of `name`.
    private mutating func content(of name: String, openedAt startLine: Int, depth: Int, scope: [String: String]) throws(XMLSyntaxError) -> [XMLTreeNode] {
        var children: [XMLTreeNode] = []
        var text = String.UnicodeScalarView()
        func flush() {
            if !text.isEmpty { children.append(.text(String(text))); text = String.UnicodeScalarView() }
        }
        while true {
            guard let scalar = peek() else { throw cutOff(name, startLine) }
            if scalar == "<" {
                if has("</") {
                    skip(2)
                    let closing = try self.name()
                    skipWhitespace()
                    try expect(">", "to end the end tag </\(closing)>")
                    guard closing == name else { throw fail("</\(closing)> closes <\(name)>, opened at line \(startLine)") }
                    flush()
                    return children
                }
                try refuseDeclarationsAndInstructions()
                flush()
                children.append(.element(try element(depth: depth + 1, scope: scope)))
            } else if scalar == "&" {
                text.append(contentsOf: try reference())
            } else {
                if has("]]>") { throw fail("]]> is not allowed in text") }
                text.append(scalar)
                advance()
            }
        }
    }

    private func cutOff(_ name: String, _ startLine: Int) -> XMLSyntaxError {
        fail("the document ends inside <\(name)>, opened at line \(startLine): it is cut off")
    }

    /// Namespaces in XML 1.0 §3: `xml` and `xmlns` keep their meaning and a prefix cannot be undeclared.
    private func checkBinding(prefix: String, uri: String) throws(XMLSyntaxError) {
        if prefix == "xmlns" { throw fail("the prefix xmlns cannot be declared") }
        if prefix == "xml" {
            guard uri == Self.xmlNamespace else { throw fail("the prefix xml can only be bound to \(Self.xmlNamespace)") }
            return
        }
        if uri == Self.xmlNamespace || uri == Self.xmlnsNamespace { throw fail("the namespace \(uri) cannot be bound to \(prefix.isEmpty ? "the default" : prefix)") }
        if !prefix.isEmpty {
            guard uri != "" else { throw fail("the prefix \(prefix) is declared with an empty namespace, which XML 1.0 forbids") }
            _ = try split(prefix)
        }
    }

    /// A qualified name's prefix (if any) and local part.
    private func split(_ qualifiedName: String) throws(XMLSyntaxError) -> (String?, String) {
        let parts = qualifiedName.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (nil, qualifiedName)
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty: return (String(parts[0]), String(parts[1]))
        default: throw fail("\(qualifiedName) is not a valid qualified name")
        }
    }

    // MARK: Names, values and references

    private mutating func name() throws(XMLSyntaxError) -> String {
        guard let first = peek(), Self.isNameStart(first) else { throw fail("expected a name") }
        var result = String.UnicodeScalarView()
        while let scalar = peek(), Self.isNameCharacter(scalar) {
            result.append(scalar)
            advance()
            guard result.count <= limits.maximumNameLength else { throw fail("a name is longer than \(limits.maximumNameLength) characters") }
        }
        return String(result)
    }

    /// A quoted value in the XML declaration (no references there).
    private mutating func quotedLiteral() throws(XMLSyntaxError) -> String {
        guard let quote = peek(), quote == "\"" || quote == "'" else { throw fail("expected a quoted value") }
        advance()
        var result = String.UnicodeScalarView()
        while let scalar = peek(), scalar != quote {
            guard scalar != "<", scalar != "&", result.count < limits.maximumNameLength else { throw fail("malformed value in the XML declaration") }
            result.append(scalar)
            advance()
        }
        try expect(String(quote), "to end the value")
        return String(result)
    }

    /// An attribute value, normalized as XML 1.0 §3.3.3 does for CDATA attributes: each literal
    /// whitespace character becomes a space; characters written as references are kept.
    private mutating func attributeValue() throws(XMLSyntaxError) -> String {
        guard let quote = peek(), quote == "\"" || quote == "'" else { throw fail("an attribute value must be quoted") }
        advance()
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = peek() else { throw fail("the document ends inside an attribute value: it is cut off") }
            switch scalar {
            case quote:
                advance()
                return String(result)
            case "<":
                throw fail("< is not allowed in an attribute value")
            case "&":
                result.append(contentsOf: try reference())
            case "\t", "\n", " ":
                result.append(" ")
                advance()
            default:
                result.append(scalar)
                advance()
            }
        }
    }

    /// A character reference or one of the five predefined entities; anything else is refused.
    private mutating func reference() throws(XMLSyntaxError) -> [Unicode.Scalar] {
        advance()  // "&"
        if peek() == "#" {
            advance()
            var radix = 10
            if peek() == "x" { radix = 16; advance() }
            var digits = ""
            while let scalar = peek(), scalar != ";", digits.count <= 8 {
                digits.unicodeScalars.append(scalar)
                advance()
            }
            guard peek() == ";", !digits.isEmpty, let value = UInt32(digits, radix: radix),
                  let scalar = Unicode.Scalar(value), XMLText.isAllowed(scalar)
            else { throw fail("&#\(radix == 16 ? "x" : "")\(digits); is not a reference to a character XML allows") }
            advance()
            return [scalar]
        }
        let entity = (try? name()) ?? ""
        guard peek() == ";" else { throw fail("an & must start a reference such as &amp;") }
        advance()
        switch entity {
        case "lt": return ["<"]
        case "gt": return [">"]
        case "amp": return ["&"]
        case "apos": return ["'"]
        case "quot": return ["\""]
        default: throw fail("&\(entity); is not one of XML's five predefined entities; no other entity is ever read")
        }
    }

    /// XML 1.0 (fifth edition) `NameStartChar`.
    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3A, 0x41...0x5A, 0x5F, 0x61...0x7A, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D, 0x37F...0x1FFF,
             0x200C...0x200D, 0x2070...0x218F, 0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFFD, 0x10000...0xEFFFF:
            true
        default:
            false
        }
    }

    /// XML 1.0 (fifth edition) `NameChar`.
    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x2D, 0x2E, 0x30...0x39, 0xB7, 0x300...0x36F, 0x203F...0x2040: true
        default: isNameStart(scalar)
        }
    }

    // MARK: Cursor

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private func has(_ literal: String) -> Bool {
        var index = position
        for scalar in literal.unicodeScalars {
            guard index < scalars.count, scalars[index] == scalar else { return false }
            index += 1
        }
        return true
    }

    private mutating func advance() {
        if scalars[position] == "\n" { line += 1 }
        position += 1
    }

    private mutating func skip(_ count: Int) {
        for _ in 0..<count { advance() }
    }

    private func isWhitespace(_ scalar: Unicode.Scalar?) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n"
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = position
        while isWhitespace(peek()) { advance() }
        return position > start
    }

    private mutating func expect(_ literal: String, _ context: String) throws(XMLSyntaxError) {
        guard has(literal) else { throw fail("expected \(literal) \(context)") }
        skip(literal.unicodeScalars.count)
    }

    private func fail(_ reason: String) -> XMLSyntaxError {
        XMLSyntaxError(line: line, reason: reason)
    }
}
