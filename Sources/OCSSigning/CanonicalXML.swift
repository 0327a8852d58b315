import OCSDomain
import OCSXML

/// Canonical XML 1.0 without comments (C14N) of an element read by `StrictXMLParser`, for digests.
///
/// The parser has already normalized line ends, expanded references and normalized attribute
/// values, and refuses comments and processing instructions, so what is left is the C14N
/// serialization: namespace declarations rendered where they first take effect (sorted, default
/// first), attributes sorted by namespace URI then local name, C14N escaping, and empty elements
/// written as a start and an end tag.
enum CanonicalXML {
    /// The canonical form of `element` and its descendants, leaving out its direct child number
    /// `omittedChild` (the enveloped signature). `ancestors` (outermost first) supply the
    /// namespaces and `xml:` attributes a document subset inherits, as C14N 1.0 requires.
    static func serialize(_ element: XMLTreeElement, omittingChild omittedChild: Int? = nil, ancestors: [XMLTreeElement] = []) -> String {
        var inScope: [String: String] = [:]
        var inheritedXMLAttributes: [String: XMLTreeAttribute] = [:]
        for ancestor in ancestors {
            inScope.merge(ancestor.namespaceDeclarations) { $1 }
            for attribute in ancestor.attributes where attribute.namespaceURI == StrictXMLParser.xmlNamespace {
                inheritedXMLAttributes[attribute.localName] = attribute
            }
        }
        let own = Set(element.attributes.filter { $0.namespaceURI == StrictXMLParser.xmlNamespace }.map(\.localName))
        let extra = inheritedXMLAttributes.filter { !own.contains($0.key) }.map(\.value)
        var output = ""
        write(element, omitting: omittedChild, extraAttributes: extra, inScope: inScope, rendered: [:], into: &output)
        return output
    }

    private static func write(
        _ element: XMLTreeElement, omitting omittedChild: Int?, extraAttributes: [XMLTreeAttribute],
        inScope parentScope: [String: String], rendered: [String: String], into output: inout String
    ) {
        let scope = parentScope.merging(element.namespaceDeclarations) { $1 }
        var nowRendered = rendered
        output += "<" + element.qualifiedName
        for (prefix, uri) in scope.sorted(by: { precedes($0.key, $1.key) }) where prefix != "xml" && rendered[prefix] != uri {
            // An empty default namespace needs declaring only to undo a rendered non-empty one.
            if prefix.isEmpty && uri.isEmpty && (rendered[""] ?? "").isEmpty { continue }
            output += " \(prefix.isEmpty ? "xmlns" : "xmlns:\(prefix)")=\"\(XMLText.escapeAttribute(uri))\""
            nowRendered[prefix] = uri
        }
        let attributes = (element.attributes + extraAttributes).sorted {
            $0.namespaceURI == $1.namespaceURI ? precedes($0.localName, $1.localName) : precedes($0.namespaceURI, $1.namespaceURI)
        }
        for attribute in attributes {
            output += " \(attribute.qualifiedName)=\"\(XMLText.escapeAttribute(attribute.value))\""
        }
        output += ">"
        for (index, child) in element.children.enumerated() where index != omittedChild {
            switch child {
            case .element(let child):
                write(child, omitting: nil, extraAttributes: [], inScope: scope, rendered: nowRendered, into: &output)
            case .text(let text):
                output += XMLText.escapeText(text)
            }
        }
        output += "</" + element.qualifiedName + ">"
    }

    /// Code-point order, as C14N sorts (Swift's `<` on strings compares by grapheme).
    private static func precedes(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }
}
