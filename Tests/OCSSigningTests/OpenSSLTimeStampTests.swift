import Crypto
import Foundation
import OCSTestSupport
import OCSXML
import SwiftASN1
import Testing
import X509
import _CryptoExtras
@testable import OCSSigning

/// Time-stamp tokens made by OpenSSL (`openssl cms -sign` of a TSTInfo built here, by an authority
/// made here): what Microsoft's one token cannot show. DER and streamed BER encodings, a signer
/// named by subject key identifier, OpenSSL's `rsaEncryption` signature algorithm, an ESSCertIDv2
/// (`-cades`) that names another certificate, a signer without time stamping, a SHA-1 imprint, a
/// chain judged at the stamped time, and a stamp on a feed ocs signed.
struct OpenSSLTimeStampTests {
    /// A root and a time-stamping authority it issues, both valid from `notBefore` to `notAfter`,
    /// written as PEM files OpenSSL signs with.
    struct Authority {
        let root: Certificate
        let certificate: Certificate
        let key: _RSA.Signing.PrivateKey
        let folder: ScratchFolder

        init(usage: ExtendedKeyUsage.Usage = .timeStamping, notBefore: Date = Date().addingTimeInterval(-7200), notAfter: Date = Date().addingTimeInterval(86_400)) throws {
            let rootKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            root = try Self.issue("Test TSA Root", key: rootKey.publicKey, issuer: nil, issuerKey: rootKey, usage: nil, notBefore: notBefore, notAfter: notAfter)
            certificate = try Self.issue("Test TSA", key: key.publicKey, issuer: root, issuerKey: rootKey, usage: usage, notBefore: notBefore, notAfter: notAfter)
            folder = try ScratchFolder()
            try Data(key.pkcs8PEMRepresentation.utf8).write(to: URL(fileURLWithPath: folder.path("tsa.key")))
            try Data(certificate.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: folder.path("tsa.pem")))
        }

        /// A root when `issuer` is nil, else an end-entity certificate with `usage`.
        static func issue(_ name: String, key: _RSA.Signing.PublicKey, issuer: Certificate?, issuerKey: _RSA.Signing.PrivateKey,
                          usage: ExtendedKeyUsage.Usage?, notBefore: Date, notAfter: Date, serialNumber: Certificate.SerialNumber = .init()) throws -> Certificate {
            let subject = try DistinguishedName { CommonName(name) }
            return try Certificate(
                version: .v3, serialNumber: serialNumber, publicKey: .init(key), notValidBefore: notBefore, notValidAfter: notAfter,
                issuer: issuer?.subject ?? subject, subject: subject, signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions {
                    if let usage {
                        Critical(BasicConstraints.notCertificateAuthority)
                        Critical(KeyUsage(digitalSignature: true))
                        Critical(try ExtendedKeyUsage([usage]))
                        SubjectKeyIdentifier(hash: .init(key))
                    } else {
                        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    }
                },
                issuerPrivateKey: .init(issuerKey)
            )
        }

        /// `tstInfo` signed by OpenSSL as a time-stamp token; `options` such as `-keyid`, `-cades`,
        /// `-stream` (indefinite lengths), `-nocerts`.
        func token(_ tstInfo: [UInt8], _ options: [String] = []) throws -> [UInt8] {
            try Data(tstInfo).write(to: URL(fileURLWithPath: folder.path("tstinfo.der")))
            let signed = try Command.run("openssl", [
                "cms", "-sign", "-binary", "-nodetach", "-in", folder.path("tstinfo.der"), "-econtent_type", "1.2.840.113549.1.9.16.1.4",
                "-md", "sha256", "-signer", folder.path("tsa.pem"), "-inkey", folder.path("tsa.key"), "-outform", "DER", "-out", folder.path("token.der"),
            ] + options)
            try #require(signed.status == 0, "openssl cms -sign: \(signed.stderr)")
            return Array(try Data(contentsOf: URL(fileURLWithPath: folder.path("token.der"))))
        }
    }

    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]

    /// A TSTInfo (RFC 3161 §2.4.2) stamping `hash` at `time`, with an accuracy and a nonce.
    static func tstInfo(hash: [UInt8], algorithm: ASN1ObjectIdentifier = sha256, at time: Date) throws -> [UInt8] {
        let utc = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: time)
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try info.serialize(1)
            try info.serialize([1, 2, 3, 4] as ASN1ObjectIdentifier)
            try info.appendConstructedNode(identifier: .sequence) { imprint in
                try imprint.appendConstructedNode(identifier: .sequence) { try $0.serialize(algorithm) }
                try imprint.serialize(ASN1OctetString(contentBytes: hash[...]))
            }
            try info.serialize(42)
            try info.serialize(GeneralizedTime(year: utc.year!, month: utc.month!, day: utc.day!, hours: utc.hour!, minutes: utc.minute!, seconds: utc.second!, fractionalSeconds: 0))
            try info.appendConstructedNode(identifier: .sequence) { try $0.serialize(1) }  // accuracy: one second
            try info.serialize(7)  // nonce
        }
        return serializer.serializedBytes
    }

    static let stamped = Data("the SignatureValue of some feed".utf8)
    static var stampedHash: [UInt8] { Array(SHA256.hash(data: stamped)) }
    /// A whole second, as a TSTInfo built here holds.
    static let oneHourAgo = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))

    @Test(arguments: [[], ["-cades"], ["-keyid"], ["-stream"], ["-stream", "-keyid", "-cades"]])
    func openSSLsTokensVerify(options: [String]) async throws {
        let authority = try Authority(notBefore: Self.oneHourAgo.addingTimeInterval(-60))
        let tstInfo = try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo)
        let bytes = try authority.token(tstInfo, options)
        let verified = try await TimeStampToken(berEncoded: bytes).verify(stamping: Self.stamped, roots: [authority.root])
        #expect(verified.time == Self.oneHourAgo)
        #expect(verified.signer == "CN=Test TSA")
        if options.contains("-stream") { #expect(bytes[1] == 0x80, "an indefinite length, as Microsoft's") } else { #expect(bytes[1] != 0x80) }
    }

    @Test func aSignerWithoutTimeStampingIsRefused() async throws {
        let authority = try Authority(usage: .codeSigning)
        let token = try authority.token(try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo))
        await #expect(throws: TimeStampError.notTimeStamping(signer: "CN=Test TSA")) {
            try await TimeStampToken(berEncoded: token).verify(stamping: Self.stamped, roots: [authority.root])
        }
    }

    @Test func aSHA1ImprintIsRefused() async throws {
        let authority = try Authority()
        let token = try authority.token(try Self.tstInfo(hash: Array(Insecure.SHA1.hash(data: Self.stamped)), algorithm: TimeStampOID.sha1, at: Self.oneHourAgo))
        await #expect(throws: TimeStampError.unsupportedAlgorithm("the imprint's hash SHA-1")) {
            try await TimeStampToken(berEncoded: token).verify(stamping: Self.stamped, roots: [authority.root])
        }
    }

    /// The authority's certificate is judged at the stamped time: it had expired an hour later.
    @Test func theAuthorityIsJudgedAtTheStampedTime() async throws {
        let authority = try Authority(notBefore: Self.oneHourAgo.addingTimeInterval(-60), notAfter: Self.oneHourAgo.addingTimeInterval(60))
        let inTime = try authority.token(try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo))
        #expect(try await TimeStampToken(berEncoded: inTime).verify(stamping: Self.stamped, roots: [authority.root]).time == Self.oneHourAgo)

        let late = try authority.token(try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo.addingTimeInterval(600)))
        await #expect {
            try await TimeStampToken(berEncoded: late).verify(stamping: Self.stamped, roots: [authority.root])
        } throws: { error in
            guard case .untrustedAuthority(let signer, _) = error as? TimeStampError else { return false }
            return signer == "CN=Test TSA"
        }
    }

    /// A certificate with the authority's key, issuer and serial number but not the one the
    /// ESSCertIDv2 names: found beside a token that carries no certificate, its key checks the
    /// signature, and the signing-certificate attribute refuses it.
    @Test func theSigningCertificateAttributeMustNameTheSigner() async throws {
        let authority = try Authority()
        let token = try authority.token(try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo), ["-cades", "-nocerts"])
        #expect(try await TimeStampToken(berEncoded: token).verify(stamping: Self.stamped, roots: [authority.root], certificates: [authority.certificate]).signer == "CN=Test TSA")

        let rootKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let otherRoot = try Authority.issue("Test TSA Root", key: rootKey.publicKey, issuer: nil, issuerKey: rootKey, usage: nil,
                                            notBefore: authority.root.notValidBefore, notAfter: authority.root.notValidAfter)
        let twin = try Authority.issue("Test TSA", key: authority.key.publicKey, issuer: otherRoot, issuerKey: rootKey, usage: .timeStamping,
                                       notBefore: authority.certificate.notValidBefore, notAfter: authority.certificate.notValidAfter,
                                       serialNumber: authority.certificate.serialNumber)
        #expect(twin != authority.certificate)
        await #expect(throws: TimeStampError.signingCertificateMismatch(signer: "CN=Test TSA")) {
            try await TimeStampToken(berEncoded: token).verify(stamping: Self.stamped, roots: [otherRoot], certificates: [twin])
        }
        // Without the attribute the twin would pass: the check is what stops it.
        let plain = try authority.token(try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo), ["-nocerts"])
        #expect(try await TimeStampToken(berEncoded: plain).verify(stamping: Self.stamped, roots: [otherRoot], certificates: [twin]).signer == "CN=Test TSA")
    }

    @Test func aTokenWithoutItsSignersCertificateIsRefused() async throws {
        let authority = try Authority()
        let token = try authority.token(try Self.tstInfo(hash: Self.stampedHash, at: Self.oneHourAgo), ["-nocerts"])
        await #expect {
            try await TimeStampToken(berEncoded: token).verify(stamping: Self.stamped, roots: [authority.root])
        } throws: { error in
            guard case .signerNotFound(let identifier) = error as? TimeStampError else { return false }
            return identifier.hasSuffix("issued by CN=Test TSA Root")
        }
    }

    /// A feed ocs signed with a certificate that has since expired verifies today by a stamp over
    /// its SignatureValue, placed where Microsoft's OCS puts it.
    @Test func ourOwnFeedStampedVerifiesAfterItsCertificateExpired() async throws {
        let signedAt = Self.oneHourAgo.addingTimeInterval(-3 * 86_400)
        let identity = try SigningIdentity.generate(commonName: "ocs test signer", validForDays: 1, now: signedAt)
        let feed = String(decoding: try FeedVerifierTests.signedFeed(by: identity), as: UTF8.self)
        let structure = try SignedFeedStructure(StrictXMLParser.parse(Data(feed.utf8)))

        let authority = try Authority(notBefore: signedAt.addingTimeInterval(-60))
        let stampedAt = signedAt.addingTimeInterval(120)
        let token = try authority.token(try Self.tstInfo(hash: Array(SHA256.hash(data: structure.signatureValue)), at: stampedAt), ["-cades"])
        let object = #"<Object Id="ts-countersig"><CounterSignature ts-format="cms-timestamp-message" xmlns="\#(SignedFeedStructure.timestampNamespace)">\#(Data(token).base64EncodedString())</CounterSignature></Object>"#
        let stamped = feed.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo>\(object)</Signature>")
        #expect(stamped != feed)

        let verifier = FeedVerifier(trust: .certificate(identity.certificate), timeStampRoots: [authority.root])
        let verified = try await verifier.verify(Data(stamped.utf8))
        #expect(verified.stampedAt == stampedAt && verified.stampedBy == "CN=Test TSA")
        await #expect {
            try await FeedVerifier(trust: .certificate(identity.certificate)).verify(Data(stamped.utf8))
        } throws: { error in
            guard case .certificateExpired = error as? FeedVerificationError else { return false }
            return true
        }
        // The same token on Microsoft's feed stamps another SignatureValue.
        let microsoft = try MicrosoftTimeStamp()
        await #expect {
            try await FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning]), timeStampRoots: [authority.root]).verify(try microsoft.feed(withToken: token))
        } throws: { error in
            guard case .timeStamp(.stampsOtherData) = error as? FeedVerificationError else { return false }
            return true
        }
    }
}
