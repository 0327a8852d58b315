import Crypto
import Foundation
import SwiftASN1
import X509

// The ASN.1 of an RFC 3161 time-stamp token, read with swift-asn1. swift-certificates has CMS
// types, but they are internal (its `@_spi(CMS)` entry points take only id-data content and read
// `certificates` as X.509 certificates alone, refusing the obsolete attribute certificate
// Microsoft's token carries), so the few structures needed are read here. Nothing here hashes or
// checks a signature: `TimeStampToken` does that through swift-crypto and swift-certificates.

/// The object identifiers a time-stamp token is read by.
enum TimeStampOID {
    /// id-signedData (RFC 5652 §5.1).
    static let signedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    /// id-ct-TSTInfo (RFC 3161 §2.4.2).
    static let tstInfo: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 1, 4]
    /// id-contentType and id-messageDigest, the signed attributes RFC 5652 §11 requires.
    static let contentType: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 3]
    static let messageDigest: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]
    /// id-aa-signingCertificate (ESSCertID, SHA-1; RFC 2634) and id-aa-signingCertificateV2
    /// (ESSCertIDv2; RFC 5035), which name the signer's certificate by hash.
    static let signingCertificate: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 12]
    static let signingCertificateV2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 47]
    static let sha1: ASN1ObjectIdentifier = [1, 3, 14, 3, 2, 26]
}

/// A hash a token may use for its imprint, its message digest or its signature. SHA-1 is refused:
/// a stamp over a SHA-1 imprint can be moved to any document with a colliding hash.
enum StampDigest: String, Sendable, CaseIterable {
    case sha256 = "SHA-256", sha384 = "SHA-384", sha512 = "SHA-512"

    var oid: ASN1ObjectIdentifier {
        switch self {
        case .sha256: [2, 16, 840, 1, 101, 3, 4, 2, 1]
        case .sha384: [2, 16, 840, 1, 101, 3, 4, 2, 2]
        case .sha512: [2, 16, 840, 1, 101, 3, 4, 2, 3]
        }
    }

    init?(_ algorithm: AlgorithmOID) {
        guard !algorithm.hasOtherParameters, let digest = Self.allCases.first(where: { $0.oid == algorithm.oid }) else { return nil }
        self = digest
    }

    func hash(_ bytes: some DataProtocol) -> [UInt8] {
        switch self {
        case .sha256: Array(SHA256.hash(data: bytes))
        case .sha384: Array(SHA384.hash(data: bytes))
        case .sha512: Array(SHA512.hash(data: bytes))
        }
    }

    /// The signature algorithm a SignerInfo names with this digest, when it is one swift-certificates
    /// checks: PKCS #1 v1.5 RSA (named as rsaEncryption, as CMS allows, or with its hash) or ECDSA.
    func signatureAlgorithm(_ algorithm: AlgorithmOID) -> Certificate.SignatureAlgorithm? {
        let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
        let named: [ASN1ObjectIdentifier: Certificate.SignatureAlgorithm] = switch self {
        case .sha256: [rsaEncryption: .sha256WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 11]: .sha256WithRSAEncryption, [1, 2, 840, 10045, 4, 3, 2]: .ecdsaWithSHA256]
        case .sha384: [rsaEncryption: .sha384WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 12]: .sha384WithRSAEncryption, [1, 2, 840, 10045, 4, 3, 3]: .ecdsaWithSHA384]
        case .sha512: [rsaEncryption: .sha512WithRSAEncryption, [1, 2, 840, 113549, 1, 1, 13]: .sha512WithRSAEncryption, [1, 2, 840, 10045, 4, 3, 4]: .ecdsaWithSHA512]
        }
        return algorithm.hasOtherParameters ? nil : named[algorithm.oid]
    }
}

/// An AlgorithmIdentifier read for its OID: the hashes and signature algorithms checked here take
/// no parameters or NULL; any other parameters (RSA-PSS's) make the algorithm unsupported.
struct AlgorithmOID: DERParseable, BERParseable, Sendable, Hashable, CustomStringConvertible {
    let oid: ASN1ObjectIdentifier
    let hasOtherParameters: Bool

    init(derEncoded node: ASN1Node) throws {
        (oid, hasOtherParameters) = try DER.sequence(node, identifier: .sequence) { nodes in
            let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
            guard let parameters = nodes.next() else { return (oid, false) }
            return (oid, parameters.identifier != .null)
        }
    }

    var description: String {
        if oid == TimeStampOID.sha1 { return "SHA-1" }
        return StampDigest.allCases.first { $0.oid == oid }?.rawValue ?? "\(oid)"
    }
}

/// MessageImprint (RFC 3161 §2.4.1): a hash algorithm and the hash of what was stamped.
struct MessageImprint: DERParseable, Sendable, Hashable {
    let algorithm: AlgorithmOID
    let hashedMessage: [UInt8]

    init(derEncoded node: ASN1Node) throws {
        (algorithm, hashedMessage) = try DER.sequence(node, identifier: .sequence) { nodes in
            (try AlgorithmOID(derEncoded: &nodes), Array(try ASN1OctetString(derEncoded: &nodes).bytes))
        }
    }
}

/// TSTInfo (RFC 3161 §2.4.2), DER by the RFC: what the authority signed. Only the imprint and the
/// time are used; the rest is read for its shape, so a TSTInfo with anything after it is refused.
struct TSTInfo: DERParseable, Sendable {
    let imprint: MessageImprint
    /// genTime, its fraction of a second kept (Microsoft's is to the millisecond).
    let time: Date

    init(derEncoded node: ASN1Node) throws {
        let genTime: GeneralizedTime
        (imprint, genTime) = try DER.sequence(node, identifier: .sequence) { nodes in
            guard try Int(derEncoded: &nodes) == 1 else { throw ASN1Error.invalidASN1Object(reason: "TSTInfo version is not 1") }
            _ = try ASN1ObjectIdentifier(derEncoded: &nodes)  // the authority's policy
            let imprint = try MessageImprint(derEncoded: &nodes)
            _ = try ArraySlice<UInt8>(derEncoded: &nodes)  // its serial number
            let genTime = try GeneralizedTime(derEncoded: &nodes)
            // accuracy, ordering, nonce, tsa [0], extensions [1]: each optional, in this order.
            for identifier in [ASN1Identifier.sequence, .boolean, .integer, .init(tagWithNumber: 0, tagClass: .contextSpecific), .init(tagWithNumber: 1, tagClass: .contextSpecific)] {
                skipOptional(&nodes, identifier)
            }
            return (imprint, genTime)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: genTime.year, month: genTime.month, day: genTime.day,
                                        hour: genTime.hours, minute: genTime.minutes, second: genTime.seconds)
        guard let whole = calendar.date(from: components) else { throw ASN1Error.invalidASN1Object(reason: "genTime is not a date") }
        time = whole.addingTimeInterval(genTime.fractionalSeconds)
    }
}

/// One signed attribute: its type and values, as DER.
struct CMSAttribute: DERParseable, Sendable {
    let type: ASN1ObjectIdentifier
    let values: [ASN1Any]
    /// The whole attribute, for the DER SET OF the signature covers.
    let encoded: ASN1Any

    init(derEncoded node: ASN1Node) throws {
        (type, values) = try DER.sequence(node, identifier: .sequence) { nodes in
            (try ASN1ObjectIdentifier(derEncoded: &nodes), try DER.set(of: ASN1Any.self, identifier: .set, nodes: &nodes))
        }
        encoded = ASN1Any(derEncoded: node)
    }
}

/// ESSCertID (RFC 2634 §5.4.1) or ESSCertIDv2 (RFC 5035 §4): the hash of a certificate, and
/// optionally its issuer and serial number.
struct ESSCertificateID: Sendable {
    /// nil for an ESSCertID, whose hash is SHA-1; an ESSCertIDv2 without one means SHA-256.
    let hashAlgorithm: AlgorithmOID?
    let certificateHash: [UInt8]
    let issuerNames: [GeneralName]?
    let serialNumber: Certificate.SerialNumber?

    /// The first certificate of a SigningCertificate or SigningCertificateV2 value: the signer's.
    static func first(in value: ASN1Any, version2: Bool) throws -> ESSCertificateID {
        try DER.sequence(DER.parse(try Self.bytes(of: value)), identifier: .sequence) { nodes in
            guard let certificates = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no certs") }
            skipOptional(&nodes, .sequence)  // policies
            return try DER.sequence(certificates, identifier: .sequence) { certificateIDs in
                guard let first = certificateIDs.next() else { throw ASN1Error.invalidASN1Object(reason: "no ESSCertID") }
                while certificateIDs.next() != nil {}  // the chain's other certificates, not checked
                return try ESSCertificateID(first, version2: version2)
            }
        }
    }

    private init(_ node: ASN1Node, version2: Bool) throws {
        (hashAlgorithm, certificateHash, issuerNames, serialNumber) = try DER.sequence(node, identifier: .sequence) { nodes in
            var algorithm: AlgorithmOID?
            if version2 {
                var peek = nodes
                if peek.next()?.identifier == .sequence { algorithm = try AlgorithmOID(derEncoded: &nodes) }
            }
            let hash = Array(try ASN1OctetString(derEncoded: &nodes).bytes)
            guard let issuerSerial = nodes.next() else { return (algorithm, hash, nil, nil) }
            let (names, serial) = try DER.sequence(issuerSerial, identifier: .sequence) { parts in
                (try DER.sequence(of: GeneralName.self, identifier: .sequence, nodes: &parts), try ArraySlice<UInt8>(derEncoded: &parts))
            }
            return (algorithm, hash, names, Certificate.SerialNumber(bytes: serial))
        }
    }

    private static func bytes(of value: ASN1Any) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }
}

/// The SignerInfo of the authority (RFC 5652 §5.3), read from the token's BER.
struct SignerInfo: Sendable {
    enum Identifier: Sendable, CustomStringConvertible {
        case issuerAndSerialNumber(issuer: DistinguishedName, serialNumber: Certificate.SerialNumber)
        case subjectKeyIdentifier(ArraySlice<UInt8>)

        func identifies(_ certificate: Certificate) -> Bool {
            switch self {
            case .issuerAndSerialNumber(let issuer, let serialNumber):
                certificate.issuer == issuer && certificate.serialNumber == serialNumber
            case .subjectKeyIdentifier(let identifier):
                (try? certificate.extensions.subjectKeyIdentifier)?.keyIdentifier == identifier
            }
        }

        var description: String {
            switch self {
            case .issuerAndSerialNumber(let issuer, let serialNumber): "serial number \(serialNumber) issued by \(issuer)"
            case .subjectKeyIdentifier(let identifier): "subject key identifier \(identifier.map { String(format: "%02X", $0) }.joined())"
            }
        }
    }

    let identifier: Identifier
    let digestAlgorithm: AlgorithmOID
    let signedAttributes: [CMSAttribute]
    /// The signed attributes as the DER SET OF their signature covers (RFC 5652 §5.4).
    let signedAttributesDER: [UInt8]
    let signatureAlgorithm: AlgorithmOID
    let signature: [UInt8]

    init(berEncoded node: ASN1Node) throws {
        (identifier, digestAlgorithm, signedAttributes, signatureAlgorithm, signature) = try BER.sequence(node, identifier: .sequence) { nodes in
            let version = try Int(derEncoded: &nodes)
            guard let sid = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "SignerInfo has no sid") }
            let identifier: Identifier
            switch sid.identifier {
            case .sequence where version == 1:
                identifier = try DER.sequence(sid, identifier: .sequence) { parts in
                    guard let issuer = parts.next() else { throw ASN1Error.invalidASN1Object(reason: "issuerAndSerialNumber has no issuer") }
                    return .issuerAndSerialNumber(issuer: try DistinguishedName(derEncoded: issuer),
                                                  serialNumber: Certificate.SerialNumber(bytes: try ArraySlice<UInt8>(derEncoded: &parts)))
                }
            case ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) where version == 3:
                identifier = .subjectKeyIdentifier(try ASN1OctetString(berEncoded: sid, withIdentifier: sid.identifier).bytes)
            default:
                throw ASN1Error.invalidASN1Object(reason: "SignerInfo version \(version) with sid \(sid.identifier)")
            }
            let digestAlgorithm = try AlgorithmOID(derEncoded: &nodes)
            // RFC 5652 §5.3: "SignedAttributes MUST be DER encoded, even if the rest of the
            // structure is BER encoded": read again by DER, which refuses indefinite lengths.
            guard let attributesNode = nodes.next(), attributesNode.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) else {
                throw ASN1Error.invalidASN1Object(reason: "SignerInfo has no signed attributes, which a TSTInfo needs")
            }
            let attributes = try DER.set(of: CMSAttribute.self, identifier: attributesNode.identifier, rootNode: DER.parse(Array(attributesNode.encodedBytes)))
            let signatureAlgorithm = try AlgorithmOID(derEncoded: &nodes)
            let signature = Array(try ASN1OctetString(berEncoded: &nodes).bytes)
            skipOptional(&nodes, ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific))  // unsigned attributes
            return (identifier, digestAlgorithm, attributes, signatureAlgorithm, signature)
        }
        var serializer = DER.Serializer()
        try serializer.serializeSetOf(signedAttributes.map(\.encoded), identifier: .set)
        signedAttributesDER = serializer.serializedBytes
    }

    /// The one value of the attribute `type`; nil when absent, an error when repeated or many-valued
    /// (RFC 5652 §5.3 forbids both for content-type and message-digest).
    func attribute(_ type: ASN1ObjectIdentifier) throws -> ASN1Any? {
        let found = signedAttributes.filter { $0.type == type }
        guard let attribute = found.first else { return nil }
        guard found.count == 1, attribute.values.count == 1 else {
            throw ASN1Error.invalidASN1Object(reason: "the signed attribute \(type) must appear once with one value")
        }
        return attribute.values[0]
    }
}

/// The token's SignedData (RFC 5652 §5.1) inside its ContentInfo, read as BER.
struct TimeStampSignedData: Sendable {
    let digestAlgorithms: [AlgorithmOID]
    /// The eContent OCTET STRING's value, its chunks joined: the DER of the TSTInfo.
    let content: [UInt8]
    /// The X.509 certificates of `certificates`; other choices (attribute certificates) are skipped.
    let certificates: [Certificate]
    let signer: SignerInfo

    init(berEncoded root: ASN1Node) throws {
        self = try BER.sequence(root, identifier: .sequence) { nodes in
            guard try ASN1ObjectIdentifier(derEncoded: &nodes) == TimeStampOID.signedData else {
                throw ASN1Error.invalidASN1Object(reason: "the ContentInfo is not SignedData")
            }
            return try BER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { signedData in
                try Self(signedData: signedData)
            }
        }
    }

    private init(signedData: ASN1Node) throws {
        (digestAlgorithms, content, certificates, signer) = try BER.sequence(signedData, identifier: .sequence) { nodes in
            // 3 for any content but id-data; 4 and 5 when attribute or other certificates are carried.
            let version = try Int(derEncoded: &nodes)
            guard (3...5).contains(version) else { throw ASN1Error.invalidASN1Object(reason: "SignedData version \(version)") }
            let digestAlgorithms = try BER.set(of: AlgorithmOID.self, identifier: .set, nodes: &nodes)
            guard let encapsulated = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "SignedData has no content") }
            let content = try Self.tstInfo(encapsulated)
            let certificates = try Self.certificates(&nodes)
            skipOptional(&nodes, ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific))  // crls
            guard let signerInfos = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "SignedData has no signerInfos") }
            let signers = try BER.set(signerInfos, identifier: .set) { infos in
                var signers: [SignerInfo] = []
                while let info = infos.next() { signers.append(try SignerInfo(berEncoded: info)) }
                return signers
            }
            // RFC 3161 §2.4.2: the token carries the authority's signature and no other.
            guard signers.count == 1 else { throw ASN1Error.invalidASN1Object(reason: "\(signers.count) SignerInfos, not one") }
            return (digestAlgorithms, content, certificates, signers[0])
        }
    }

    /// EncapsulatedContentInfo: id-ct-TSTInfo and its eContent, which BER may cut into chunks.
    private static func tstInfo(_ encapsulated: ASN1Node) throws -> [UInt8] {
        try BER.sequence(encapsulated, identifier: .sequence) { nodes in
            guard try ASN1ObjectIdentifier(derEncoded: &nodes) == TimeStampOID.tstInfo else {
                throw ASN1Error.invalidASN1Object(reason: "the encapsulated content is not a TSTInfo")
            }
            return try BER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { Array(try ASN1OctetString(berEncoded: $0).bytes) }
        }
    }

    private static func certificates(_ nodes: inout ASN1NodeCollection.Iterator) throws -> [Certificate] {
        var peek = nodes
        guard let set = peek.next(), set.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) else { return [] }
        nodes = peek
        guard case .constructed(let choices) = set.content else { throw ASN1Error.invalidASN1Object(reason: "certificates is primitive") }
        // A certificate is read again as DER from its own bytes: its signature covers that encoding.
        return try choices.filter { $0.identifier == .sequence }.map { try Certificate(derEncoded: Array($0.encodedBytes)) }
    }
}

/// Consumes the next node when it has `identifier`: an OPTIONAL field not otherwise read.
func skipOptional(_ nodes: inout ASN1NodeCollection.Iterator, _ identifier: ASN1Identifier) {
    var peek = nodes
    if peek.next()?.identifier == identifier { nodes = peek }
}
