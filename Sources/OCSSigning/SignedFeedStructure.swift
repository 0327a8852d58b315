import Foundation
import OCSXML

/// The parts of a feed that its signature profile allows, found by checking the whole tree.
///
/// `EOCS` (no namespace) holds `Config` elements, then exactly one `Signature` as its last
/// element. The `Signature` holds exactly the profile: `SignedInfo` (the algorithms and one
/// `Reference`), `SignatureValue`, `KeyInfo` (an optional `KeyValue/RSAKeyValue`, then
/// `X509Data/X509Certificate`s), and optionally the `Object` Microsoft's OCS adds, which holds an
/// `X509Data` and a time-stamp `CounterSignature`. Anything else anywhere in the `Signature` is
/// refused, so nothing unsigned can pass for content: Config ids come from `EOCS`'s own children.
struct SignedFeedStructure {
    let root: XMLTreeElement
    /// The `Config` children of the root, all of them covered by the digest.
    let configs: [XMLTreeElement]
    /// The position of the `Signature` among the root's children (text included).
    let signatureIndex: Int
    let signature: XMLTreeElement
    let signedInfo: XMLTreeElement
    let digestValue: Data
    let signatureValue: Data
    /// The `X509Certificate`s of `KeyInfo`, DER-encoded, in document order (the signer first).
    let certificates: [Data]
    /// Microsoft's time stamp, when the signature carries one.
    let timeStamp: TimeStampObject?

    /// What `Object Id="ts-countersig"` holds, none of it covered by the signature.
    struct TimeStampObject {
        /// The `CounterSignature`'s bytes: an RFC 3161 token over the SignatureValue.
        let token: Data
        /// Its `ts-format`, `cms-timestamp-message` in Microsoft's.
        let format: String?
        /// The `Object`'s own `X509Certificate`s, DER-encoded: the time-stamping authority's.
        let certificates: [Data]
    }

    static let timestampNamespace = "http://schemas.microsoft.com/xmldsig/timestamp/2003"

    init(_ root: XMLTreeElement) throws(FeedVerificationError) {
        self.root = root
        guard root.localName == "EOCS", root.namespaceURI.isEmpty, root.qualifiedName == "EOCS" else {
            throw .invalid("the root element is <\(root.qualifiedName)>, not <EOCS>")
        }
        try Self.onlyWhitespaceText(in: root)
        let elements = root.elements
        let signatureCount = elements.filter { $0.localName == "Signature" }.count
        guard signatureCount > 0 else { throw .invalid("the document is not signed") }
        guard signatureCount == 1 else { throw .invalid("the document has \(signatureCount) signatures") }
        guard let last = elements.last, last.localName == "Signature", last.namespaceURI == XMLSignatureProfile.namespace else {
            throw .invalid("the signature is not the last element of EOCS")
        }
        for element in elements.dropLast() where element.qualifiedName != "Config" || !element.namespaceURI.isEmpty {
            throw .invalid("line \(element.line): EOCS holds <\(element.qualifiedName)>; only Config elements come before the signature")
        }
        for config in elements.dropLast() where config.attribute("id") == nil {
            throw .invalid("line \(config.line): a Config has no id")
        }
        configs = Array(elements.dropLast())
        signature = last
        signatureIndex = root.children.lastIndex { if case .element = $0 { true } else { false } } ?? 0

        try Self.allowAttributes(["Id"], on: signature)
        let parts = try Self.children(of: signature, ["SignedInfo", "SignatureValue", "KeyInfo", "Object?"])
        signedInfo = parts[0]
        let signatureValueElement = parts[1], keyInfo = parts[2]

        try Self.allowAttributes(["Id"], on: signedInfo)
        let signedInfoParts = try Self.children(of: signedInfo, ["CanonicalizationMethod", "SignatureMethod", "Reference"])
        try Self.expectAlgorithm(signedInfoParts[0], XMLSignatureProfile.canonicalization)
        try Self.expectAlgorithm(signedInfoParts[1], XMLSignatureProfile.signatureMethod)
        let reference = signedInfoParts[2]
        try Self.allowAttributes(["URI", "Id", "Type"], on: reference)
        guard reference.attribute("URI") == "" else { throw .invalid("the Reference must cover the whole document (URI=\"\")") }
        let referenceParts = try Self.children(of: reference, ["Transforms", "DigestMethod", "DigestValue"])
        try Self.allowAttributes([], on: referenceParts[0])
        let transforms = try Self.children(of: referenceParts[0], ["Transform", "Transform?"])
        for transform in transforms { try Self.allowAttributes(["Algorithm"], on: transform) }
        let algorithms = try transforms.map { transform throws(FeedVerificationError) in try Self.emptyElement(transform).attribute("Algorithm") ?? "" }
        guard algorithms == [XMLSignatureProfile.envelopedSignature, XMLSignatureProfile.canonicalization]
            || algorithms == [XMLSignatureProfile.envelopedSignature]
        else { throw .invalid("unexpected transforms: \(algorithms.joined(separator: ", "))") }
        try Self.expectAlgorithm(referenceParts[1], XMLSignatureProfile.digestMethod)
        digestValue = try Self.base64(referenceParts[2])

        try Self.allowAttributes(["Id"], on: signatureValueElement)
        signatureValue = try Self.base64(signatureValueElement)

        try Self.allowAttributes(["Id"], on: keyInfo)
        let keyInfoParts = try Self.children(of: keyInfo, ["KeyValue?", "X509Data"])
        if keyInfoParts.count == 2 {
            let keyValue = keyInfoParts[0]
            try Self.allowAttributes([], on: keyValue)
            let rsaKeyValue = try Self.children(of: keyValue, ["RSAKeyValue"])[0]
            try Self.allowAttributes([], on: rsaKeyValue)
            for part in try Self.children(of: rsaKeyValue, ["Modulus", "Exponent"]) { _ = try Self.base64(part) }
        }
        certificates = try Self.x509Certificates(keyInfoParts[keyInfoParts.count - 1])
        guard !certificates.isEmpty else { throw .invalid("the signature carries no X509Certificate") }

        timeStamp = parts.count == 4 ? try Self.timestampObject(parts[3]) : nil
    }

    /// Microsoft's `Object Id="ts-countersig"`: the time-stamp authority's certificates and an
    /// RFC 3161 token over the SignatureValue, as base64 text. It is outside the signed reference,
    /// so it may hold nothing else.
    private static func timestampObject(_ object: XMLTreeElement) throws(FeedVerificationError) -> TimeStampObject {
        try allowAttributes(["Id"], on: object)
        let elements = object.elements
        guard let counterSignature = elements.last, counterSignature.localName == "CounterSignature",
              counterSignature.namespaceURI == timestampNamespace
        else { throw .invalid("line \(object.line): the signature's Object may hold only X509Data and a time-stamp CounterSignature") }
        try onlyWhitespaceText(in: object)
        let certificates: [Data]
        switch elements.count {
        case 1:
            certificates = []
        case 2 where elements[0].localName == "X509Data" && elements[0].namespaceURI == XMLSignatureProfile.namespace:
            certificates = try x509Certificates(elements[0])
        default:
            throw .invalid("line \(object.line): the signature's Object may hold only X509Data and a time-stamp CounterSignature")
        }
        try allowAttributes(["ts-format"], on: counterSignature)
        return TimeStampObject(token: try base64(counterSignature), format: counterSignature.attribute("ts-format"), certificates: certificates)
    }

    private static func x509Certificates(_ x509Data: XMLTreeElement) throws(FeedVerificationError) -> [Data] {
        try allowAttributes([], on: x509Data)
        try onlyWhitespaceText(in: x509Data)
        return try x509Data.elements.map { element throws(FeedVerificationError) in
            guard element.localName == "X509Certificate", element.namespaceURI == XMLSignatureProfile.namespace else {
                throw .invalid("line \(element.line): X509Data holds <\(element.qualifiedName)>, which the signature profile does not allow")
            }
            try allowAttributes([], on: element)
            return try base64(element)
        }
    }

    /// The element children of `element`, which must be exactly `names` in order, each in the
    /// XML Signature namespace (a trailing `?` marks one that may be missing). Text between
    /// them must be whitespace.
    private static func children(of element: XMLTreeElement, _ names: [String]) throws(FeedVerificationError) -> [XMLTreeElement] {
        try onlyWhitespaceText(in: element)
        var found: [XMLTreeElement] = []
        var remaining = element.elements[...]
        for name in names {
            let optional = name.hasSuffix("?")
            let localName = optional ? String(name.dropLast()) : name
            if let next = remaining.first, next.localName == localName, next.namespaceURI == XMLSignatureProfile.namespace {
                found.append(next)
                remaining = remaining.dropFirst()
            } else if !optional {
                let what = remaining.first.map { "<\($0.qualifiedName)> where \(localName) belongs" } ?? "no \(localName)"
                throw .invalid("line \(element.line): \(element.localName) holds \(what)")
            }
        }
        if let extra = remaining.first {
            throw .invalid("line \(extra.line): \(element.localName) holds <\(extra.qualifiedName)>, which the signature profile does not allow")
        }
        return found
    }

    private static func onlyWhitespaceText(in element: XMLTreeElement) throws(FeedVerificationError) {
        for case .text(let text) in element.children where !text.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" }) {
            throw .invalid("line \(element.line): \(element.localName) holds text outside its elements")
        }
    }

    private static func allowAttributes(_ allowed: Set<String>, on element: XMLTreeElement) throws(FeedVerificationError) {
        for attribute in element.attributes where !(attribute.namespaceURI.isEmpty && allowed.contains(attribute.localName)) {
            throw .invalid("line \(element.line): \(element.localName) has the attribute \(attribute.qualifiedName), which the signature profile does not allow")
        }
    }

    /// `element`, after checking it has no children: the profile's method elements are empty.
    private static func emptyElement(_ element: XMLTreeElement) throws(FeedVerificationError) -> XMLTreeElement {
        guard element.elements.isEmpty else {
            throw .invalid("line \(element.line): \(element.localName) holds <\(element.elements[0].qualifiedName)>, which the signature profile does not allow")
        }
        try onlyWhitespaceText(in: element)
        return element
    }

    private static func expectAlgorithm(_ element: XMLTreeElement, _ algorithm: String) throws(FeedVerificationError) {
        try allowAttributes(["Algorithm"], on: element)
        let found = try emptyElement(element).attribute("Algorithm") ?? ""
        guard found == algorithm else {
            throw .invalid("\(element.localName) is \(found.isEmpty ? "missing" : found), expected \(algorithm)")
        }
    }

    /// The base64 text of an element that may hold nothing else.
    private static func base64(_ element: XMLTreeElement) throws(FeedVerificationError) -> Data {
        guard element.elements.isEmpty else {
            throw .invalid("line \(element.line): \(element.localName) holds <\(element.elements[0].qualifiedName)>; only base64 text belongs there")
        }
        let text = element.text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: text) else { throw .invalid("line \(element.line): \(element.localName) is not base64") }
        return data
    }
}
