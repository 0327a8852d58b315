import Foundation
import OCSDomain
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Canonical XML 1.0 (without comments) of a parsed element subtree, for verifying signatures.
///
/// Foundation's own canonicalization returns an empty string on Linux, so this serializes the
/// parsed tree by the C14N rules: attributes sorted, namespace declarations rendered where they
/// first take effect, C14N escaping, empty elements as start and end tags, comments dropped.
/// The parser (libxml2 through FoundationXML) has already normalized line ends, expanded
/// character references and normalized attribute values.
enum CanonicalXML {
    /// The canonical form of `element` and its descendants, leaving out `excluded` (the enveloped
    /// signature). `inherited` holds namespace declarations in scope from outside the subtree.
    static func serialize(_ element: XMLElement, excluding excluded: XMLNode? = nil, inherited: [String: String] = [:]) -> String {
        var output = ""
        write(element, excluding: excluded, inScope: inherited, rendered: [:], into: &output)
        return output
    }

    /// Namespace declarations in scope at `element` from its ancestors (prefix "" is the default).
    static func inheritedNamespaces(of element: XMLElement) -> [String: String] {
        var chain: [XMLElement] = []
        var parent = element.parent as? XMLElement
        while let current = parent {
            chain.append(current)
            parent = current.parent as? XMLElement
        }
        var scope: [String: String] = [:]
        for ancestor in chain.reversed() {
            for (prefix, uri) in declarations(of: ancestor) { scope[prefix] = uri }
        }
        return scope
    }

    private static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    private static func declarations(of element: XMLElement) -> [(String, String)] {
        (element.namespaces ?? []).map { ($0.name ?? "", $0.stringValue ?? "") }
    }

    private static func write(
        _ element: XMLElement, excluding excluded: XMLNode?,
        inScope parentScope: [String: String], rendered: [String: String], into output: inout String
    ) {
        var scope = parentScope
        for (prefix, uri) in declarations(of: element) { scope[prefix] = uri }
        var nowRendered = rendered
        var namespaceAttributes: [(String, String)] = []
        for (prefix, uri) in scope.sorted(by: { $0.key < $1.key }) where rendered[prefix] != uri {
            // An empty default namespace needs declaring only to undo a rendered non-empty one.
            if prefix.isEmpty && uri.isEmpty && (rendered[""] ?? "").isEmpty { continue }
            namespaceAttributes.append((prefix.isEmpty ? "xmlns" : "xmlns:\(prefix)", uri))
            nowRendered[prefix] = uri
        }
        // Sorted by namespace URI, then local name. FoundationXML on Linux crashes reading
        // `localName` or `uri` of an attribute, so both come from the qualified name.
        let attributes = (element.attributes ?? []).map { attribute in
            let name = attribute.name ?? ""
            let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
            let uri = parts.count == 2 ? (parts[0] == "xml" ? xmlNamespace : scope[parts[0]] ?? "") : ""
            return (name: name, uri: uri, local: parts.last ?? name, value: attribute.stringValue ?? "")
        }.sorted { ($0.uri, $0.local) < ($1.uri, $1.local) }

        let name = element.name ?? ""
        output += "<" + name
        for (key, value) in namespaceAttributes {
            output += " \(key)=\"\(XMLText.escapeAttribute(value))\""
        }
        for attribute in attributes {
            output += " \(attribute.name)=\"\(XMLText.escapeAttribute(attribute.value))\""
        }
        output += ">"
        for child in element.children ?? [] where child !== excluded {
            switch child.kind {
            case .element:
                if let child = child as? XMLElement {
                    write(child, excluding: excluded, inScope: scope, rendered: nowRendered, into: &output)
                }
            case .text:
                output += XMLText.escapeText(child.stringValue ?? "")
            case .processingInstruction:
                let data = child.stringValue ?? ""
                output += "<?" + (child.name ?? "") + (data.isEmpty ? "" : " " + data) + "?>"
            default:
                break
            }
        }
        output += "</" + name + ">"
    }
}
