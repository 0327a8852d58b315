import Foundation
import OCSDomain
import Testing
import X509
import _CryptoExtras
@testable import OCSSigning

struct FeedVerifierTests {
    static let identity = SigningIdentityTests.identity
    static let rules = [
        Mitigation(id: "M1", description: #"Block "autodiscover" & <PowerShell>"#, state: .published, actions: [
            .iisUrlRewrite(UrlRewrite(scope: .site, site: "Default Web Site", rule: .init(name: "r", input: "{REQUEST_URI}", pattern: "a\tb", action: "AbortRequest")), description: "line\nbreak"),
        ]),
        Mitigation(id: "PING1", description: "ping", state: .published, actions: [.doNothing(description: nil)]),
    ]

    static func signedFeed(by identity: SigningIdentity = identity, rules: [Mitigation] = rules) throws -> Data {
        let document = FeedRenderer().render(rules, rootAttributes: [("serial", "5"), ("issued", "2026-11-23T06:00:00Z")])
        let signature = try FeedSigner(identity: identity).signatureElement(digestInput: Data(document.digestInput.utf8))
        return Data(document.signed(with: signature).utf8)
    }

    @Test func verifiesWithThePinnedCertificate() async throws {
        let feed = try await FeedVerifier(trust: .certificate(Self.identity.certificate)).verify(Self.signedFeed())
        #expect(feed == .init(serial: "5", issued: "2026-11-23T06:00:00Z", configIDs: ["M1", "PING1"], signer: "\(Self.identity.certificate.subject)"))
    }

    @Test func canonicalFormOfTheParsedDocumentIsTheDigestInput() throws {
        let document = FeedRenderer().render(Self.rules, rootAttributes: [("serial", "5")])
        let data = Data(document.signed(with: try FeedSigner(identity: Self.identity).signatureElement(digestInput: Data(document.digestInput.utf8))).utf8)
        let root = try StrictXMLParser.parse(data)
        let signature = try #require(root.children.lastIndex { if case .element = $0 { true } else { false } })
        #expect(CanonicalXML.serialize(root, omittingChild: signature) == document.digestInput)
    }

    @Test func rejectsAnyChangedByte() async throws {
        let original = try Self.signedFeed()
        let text = String(decoding: original, as: UTF8.self)
        for (from, to) in [("id=\"M1\"", "id=\"M2\""), ("ping", "pong"), ("serial=\"5\"", "serial=\"6\""), ("</Config>\n  <Signature", "</Config>\n   <Signature")] {
            let tampered = Data(text.replacingOccurrences(of: from, with: to).utf8)
            #expect(tampered != original)
            await #expect(throws: FeedVerificationError.self, "\(from) → \(to)") {
                try await FeedVerifier(trust: .certificate(Self.identity.certificate)).verify(tampered)
            }
        }
    }

    @Test func rejectsADocumentResignedWithAnotherKey() async throws {
        let forger = try SigningIdentity.generate(commonName: "identity tests")
        let forged = try Self.signedFeed(by: forger)
        await #expect(throws: FeedVerificationError.self) {
            try await FeedVerifier(trust: .certificate(Self.identity.certificate)).verify(forged)
        }
        // The forgery is internally consistent: only the pinned trust rejects it.
        _ = try await FeedVerifier(trust: .certificate(forger.certificate)).verify(forged)
    }

    @Test func acceptsAChainToTheGivenRootAndRejectsAnotherRoot() async throws {
        let pki = try TestPKI()
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let identity = try SigningIdentity(privateKey: key, certificate: pki.leaf(key: key), chain: [pki.intermediate])
        let feed = try Self.signedFeed(by: identity)
        let verified = try await FeedVerifier(trust: .roots([pki.root])).verify(feed)
        #expect(verified.configIDs == ["M1", "PING1"])
        await #expect(throws: FeedVerificationError.self) {
            try await FeedVerifier(trust: .roots([try TestPKI(name: "Other").root])).verify(feed)
        }
        // The signing certificate alone does not chain without the intermediate.
        let withoutChain = try SigningIdentity(privateKey: key, certificate: pki.leaf(key: key), chain: [])
        await #expect(throws: FeedVerificationError.self) {
            try await FeedVerifier(trust: .roots([pki.root])).verify(try Self.signedFeed(by: withoutChain))
        }
    }

    @Test func rejectsUnsignedSmuggledAndDoctypeDocuments() async throws {
        let verifier = FeedVerifier(trust: .certificate(Self.identity.certificate))
        let unsigned = Data(FeedRenderer().render(Self.rules).unsigned.utf8)
        await #expect(throws: FeedVerificationError.invalid("the document is not signed")) { try await verifier.verify(unsigned) }
        let text = String(decoding: try Self.signedFeed(), as: UTF8.self)
        let appended = Data(text.replacingOccurrences(of: "</Signature>\n</EOCS>", with: "</Signature><Config id=\"EVIL\"></Config>\n</EOCS>").utf8)
        await #expect(throws: FeedVerificationError.invalid("the signature is not the last element of EOCS")) { try await verifier.verify(appended) }
        let doctype = Data(text.replacingOccurrences(of: "<EOCS ", with: "<!DOCTYPE EOCS [<!ENTITY x \"y\">]><EOCS ").utf8)
        await #expect(throws: FeedVerificationError.self) { try await verifier.verify(doctype) }
        await #expect(throws: FeedVerificationError.self) { try await verifier.verify(Data("not xml".utf8)) }
    }
}
