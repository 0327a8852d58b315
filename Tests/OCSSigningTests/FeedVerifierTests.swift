import Foundation
import OCSDomain
import OCSTestSupport
import OCSXML
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

    static func expiringFeed(_ expires: String) throws -> Data {
        let document = FeedRenderer().render(rules, rootAttributes: [("serial", "5"), ("issued", "2026-11-23T06:00:00Z"), ("expires", expires)])
        let signature = try FeedSigner(identity: identity).signatureElement(digestInput: Data(document.digestInput.utf8))
        return Data(document.signed(with: signature).utf8)
    }

    @Test func aFeedIsRefusedOnceItsSignedExpiryHasPassed() async throws {
        let expiry = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) + 3600)
        let expires = FeedTime.format(expiry)
        let feed = try Self.expiringFeed(expires)
        let verifier = FeedVerifier(trust: .certificate(Self.identity.certificate))
        #expect(try await verifier.verify(feed).expires == expires)
        #expect(try await verifier.verify(feed, at: expiry - 1).expires == expires)
        let late = expiry + 86400 + 0.5
        let refusal = await Self.refusal(feed, at: late)
        #expect(refusal == .feedExpired(expires: expires, at: late))
        #expect(refusal?.description == "feed expired at \(expires) (now \(FeedTime.format(late)))")
        #expect(await Self.refusal(feed, at: expiry) == .feedExpired(expires: expires, at: expiry), "expired at the very second")

        // The expiry is signed: moving it later breaks the digest.
        let text = String(decoding: feed, as: UTF8.self)
        let extended = Data(text.replacingOccurrences(of: "expires=\"\(expires)\"", with: "expires=\"\(FeedTime.format(expiry + 86400 * 365))\"").utf8)
        #expect(extended != feed)
        #expect(await Self.refusal(extended, at: late)?.description.contains("digest does not match") == true)
    }

    @Test func aMalformedExpiryIsRefusedAndNoExpiryIsNotRequired() async throws {
        for malformed in ["tomorrow", "2026-11-24 06:00:00", "2026-11-24T06:00:00+00:00", "2026-11-24T06:00:00.000Z", "2026-11-24t06:00:00z", "2026-13-01T00:00:00Z", ""] {
            let refusal = await Self.refusal(try Self.expiringFeed(malformed))
            #expect(refusal == .invalid("the feed's expires '\(malformed)' is not a UTC time like 2026-11-24T06:00:00Z"), "\(malformed)")
        }
        // A feed without expires (Microsoft's has none) is judged by its signature alone.
        #expect(try await FeedVerifier(trust: .certificate(Self.identity.certificate)).verify(Self.signedFeed()).expires == nil)
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

    /// Issue 19: Windows refuses a code-signing leaf under an issuer whose extended key usages
    /// leave code signing out; `--ca` trust refuses it too, naming the issuer. An issuer without
    /// the extension, or allowing code signing or any usage, passes.
    @Test func anIssuerLimitedToOtherUsagesCannotVouchForCodeSigning() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        func refusal(_ pki: TestPKI) async throws -> FeedVerificationError? {
            let identity = try SigningIdentity(privateKey: key, certificate: pki.leaf(key: key), chain: [pki.intermediate])
            return await Self.refusal(try Self.signedFeed(by: identity), trust: .roots([pki.root]))
        }
        let serverOnly = try #require(await refusal(TestPKI(intermediateUsages: [.serverAuth])))
        #expect(serverOnly.description == "the signing certificate (CN=Feed Signer) does not chain to the given CA: CN=Test Intermediate may only issue certificates for serverAuth, not code signing")
        let rootServerOnly = try #require(await refusal(TestPKI(rootUsages: [.serverAuth, .clientAuth])))
        #expect(rootServerOnly.description.hasSuffix("CN=Test Root may only issue certificates for serverAuth, clientAuth, not code signing"), "\(rootServerOnly)")

        #expect(try await refusal(TestPKI(intermediateUsages: [.serverAuth, .codeSigning])) == nil)
        #expect(try await refusal(TestPKI(rootUsages: [.any], intermediateUsages: [.codeSigning])) == nil)
        #expect(try await refusal(TestPKI()) == nil)
    }

    @Test func anIntermediateThatIsNotACAIsRefused() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let pki = try TestPKI(intermediateIsAuthority: false)
        let identity = try SigningIdentity(privateKey: key, certificate: pki.leaf(key: key), chain: [pki.intermediate])
        let reason = try #require(await Self.refusal(try Self.signedFeed(by: identity), trust: .roots([pki.root])))
        #expect(reason.description.hasSuffix("Certificate CN=Test Intermediate is not marked as a CA"), "\(reason)")
    }

    @Test func rejectsUnsignedAndAppendedDocuments() async throws {
        let verifier = FeedVerifier(trust: .certificate(Self.identity.certificate))
        let unsigned = Data(FeedRenderer().render(Self.rules).unsigned.utf8)
        await #expect(throws: FeedVerificationError.invalid("the document is not signed")) { try await verifier.verify(unsigned) }
        let text = String(decoding: try Self.signedFeed(), as: UTF8.self)
        let appended = Data(text.replacingOccurrences(of: "</Signature>\n</EOCS>", with: "</Signature><Config id=\"EVIL\"></Config>\n</EOCS>").utf8)
        await #expect(throws: FeedVerificationError.invalid("the signature is not the last element of EOCS")) { try await verifier.verify(appended) }
        await #expect(throws: FeedVerificationError.self) { try await verifier.verify(Data("not xml".utf8)) }
    }

    /// The reason `verify` gives for `document`, or nil when it verifies.
    static func refusal(_ document: Data, trust: FeedVerifier.Trust = .certificate(identity.certificate), at time: Date = Date()) async -> FeedVerificationError? {
        do {
            _ = try await FeedVerifier(trust: trust).verify(document, at: time)
            return nil
        } catch {
            return error
        }
    }

    /// Every `Config` id anywhere in the document, as `xmllint --xpath '//Config/@id'` lists them.
    static func everyConfigID(_ document: Data) throws -> [String] {
        let scratch = try ScratchFolder()
        let file = scratch.path("feed.xml")
        try document.write(to: URL(fileURLWithPath: file))
        let result = try Command.run("xmllint", ["--xpath", "//Config/@id", file])
        return result.output.split(whereSeparator: \.isWhitespace).map { $0.replacingOccurrences(of: "id=", with: "").replacingOccurrences(of: "\"", with: "") }
    }

    /// A Config hidden in the unsigned parts of the signature: the digest and signature value are
    /// untouched, xmllint sees the extra Config, and the verifier must refuse the document.
    @Test func refusesAConfigSmuggledIntoTheSignature() async throws {
        let text = String(decoding: try Self.signedFeed(), as: UTF8.self)
        // `xmlns=""` takes it out of the signature's namespace, so `//Config` finds it.
        let evil = "<Config xmlns=\"\" id=\"EVIL\"><ActionList></ActionList></Config>"
        let smuggled: [(String, String)] = [
            ("in an Object", text.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo><Object>\(evil)</Object></Signature>")),
            ("in a time-stamp Object", text.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo><Object Id=\"ts-countersig\">\(evil)"
                + "<CounterSignature xmlns=\"http://schemas.microsoft.com/xmldsig/timestamp/2003\">AAAA</CounterSignature></Object></Signature>")),
            ("inside the CounterSignature", text.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo><Object Id=\"ts-countersig\">"
                + "<CounterSignature xmlns=\"http://schemas.microsoft.com/xmldsig/timestamp/2003\">\(evil)</CounterSignature></Object></Signature>")),
            ("in KeyInfo", text.replacingOccurrences(of: "</X509Data></KeyInfo>", with: "</X509Data>\(evil)</KeyInfo>")),
            ("in X509Data", text.replacingOccurrences(of: "</X509Data></KeyInfo>", with: "\(evil)</X509Data></KeyInfo>")),
            ("in KeyValue", text.replacingOccurrences(of: "</RSAKeyValue>", with: "</RSAKeyValue>\(evil)")),
            ("after the Object", text.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo><Object Id=\"ts-countersig\">"
                + "<CounterSignature xmlns=\"http://schemas.microsoft.com/xmldsig/timestamp/2003\">AAAA</CounterSignature></Object>\(evil)</Signature>")),
        ]
        for (place, document) in smuggled {
            let data = Data(document.utf8)
            #expect(document != text, "\(place): the edit applied")
            #expect(try Self.everyConfigID(data) == ["M1", "PING1", "EVIL"], "\(place): xmllint lists the smuggled Config")
            let reason = await Self.refusal(data)
            #expect(reason?.description.contains("which the signature profile does not allow") == true
                || reason?.description.contains("may hold only X509Data and a time-stamp CounterSignature") == true
                || reason?.description.contains("only base64 text belongs there") == true, "\(place): \(reason.map { "\($0)" } ?? "verified")")
        }
        // The time-stamp Object alone is allowed, as Microsoft's OCS sends it.
        let withTimestamp = text.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo><Object Id=\"ts-countersig\"><X509Data><X509Certificate>"
            + "\(Data(Self.identity.certificateChainDER[0]).base64EncodedString())</X509Certificate></X509Data>"
            + "<CounterSignature ts-format=\"cms-timestamp-message\" xmlns=\"http://schemas.microsoft.com/xmldsig/timestamp/2003\">AAAA</CounterSignature></Object></Signature>")
        #expect(await Self.refusal(Data(withTimestamp.utf8)) == nil)
    }

    /// Documents that are not well-formed, each made from a validly signed one.
    @Test func refusesDocumentsThatAreNotWellFormed() async throws {
        let text = String(decoding: try Self.signedFeed(), as: UTF8.self)
        let end = try #require(text.range(of: "</EOCS>"))
        let broken: [(String, String, String)] = [
            ("a second root", text + "<EOCS><Config id=\"EVIL\"></Config></EOCS>\n", "a second root element <EOCS>"),
            ("cut off", String(text[..<end.lowerBound]), "the document ends inside <EOCS>"),
            ("trailing text", text + "EVIL\n", "text after </EOCS>"),
            ("a processing instruction", "<?evil run?>\n" + text, "a processing instruction"),
            ("a DOCTYPE", text.replacingOccurrences(of: "<EOCS ", with: "<!DOCTYPE EOCS [<!ENTITY x \"y\">]><EOCS "), "a DOCTYPE"),
            ("empty", "", "the file is empty"),
        ]
        for (name, document, expected) in broken {
            let reason = await Self.refusal(Data(document.utf8))
            guard case .notWellFormed(let error) = reason else {
                Issue.record("\(name): \(reason.map { "\($0)" } ?? "verified")")
                continue
            }
            #expect(error.description.contains(expected), "\(name): \(error)")
        }
    }

    /// The attack from the issue: a UTF-16 document whose DTD pulls an external entity from a
    /// listener. xmllint (libxml2) fetches it; the verifier refuses the document and never connects.
    @Test func aUTF16DocumentWithAnExternalEntityIsRefusedWithoutAnyFetch() async throws {
        let listener = try LoopbackListener()
        defer { listener.stop() }
        let signed = String(decoding: try Self.signedFeed(), as: UTF8.self)
        let document = signed.replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"utf-8\"?>", with:
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<!DOCTYPE EOCS [<!ENTITY % remote SYSTEM \"http://127.0.0.1:\(listener.port)/evil.dtd\"> %remote;]>")
        #expect(document != signed)
        let bytes = Data([0xFF, 0xFE]) + document.data(using: .utf16LittleEndian)!

        let reason = await Self.refusal(bytes)
        #expect(reason?.description.contains("the document is UTF-16") == true, "\(reason.map { "\($0)" } ?? "verified")")
        #expect(listener.requests.isEmpty)

        // The listener is live and the document is a real attack: libxml2 connects to it.
        let scratch = try ScratchFolder()
        try bytes.write(to: URL(fileURLWithPath: scratch.path("attack.xml")))
        _ = try Command.run("xmllint", ["--noout", "--loaddtd", scratch.path("attack.xml")], timeout: 30)
        #expect(listener.requests.first?.hasPrefix("GET /evil.dtd") == true)
    }

    @Test func aChainFailureIsOneLineNamingTheSubject() async throws {
        let pki = try TestPKI()
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let feed = try Self.signedFeed(by: try SigningIdentity(privateKey: key, certificate: pki.leaf(key: key), chain: [pki.intermediate]))
        let wrongRoot = try #require(await Self.refusal(feed, trust: .roots([try TestPKI(name: "Other").root])))
        #expect(wrongRoot.description.contains("CN=Feed Signer"))
        #expect(!wrongRoot.description.contains("\n") && !wrongRoot.description.contains("Certificate("), "\(wrongRoot)")

        // An intermediate that has expired by the time judged: named, in one line.
        let expiredIntermediate = try TestPKI.issue(
            name: "Test Intermediate", key: pki.intermediateKey.publicKey, issuer: pki.root, issuerKey: pki.rootKey, isAuthority: true,
            notBefore: Date().addingTimeInterval(-86_400 * 30), notAfter: Date().addingTimeInterval(-60)
        )
        let leaf = try pki.leaf(key: key, notBefore: Date().addingTimeInterval(-86_400 * 20), notAfter: Date().addingTimeInterval(86_400))
        let stale = try Self.signedFeed(by: SigningIdentity(privateKey: key, certificate: leaf, chain: [expiredIntermediate]))
        let expired = try #require(await Self.refusal(stale, trust: .roots([pki.root])))
        #expect(expired.description.contains("CN=Test Intermediate has expired"), "\(expired)")
        #expect(!expired.description.contains("\n") && !expired.description.contains("Certificate("), "\(expired)")
        // Judged at a time every certificate was valid (the root is an hour old), the same chain verifies.
        #expect(await Self.refusal(stale, trust: .roots([pki.root]), at: Date().addingTimeInterval(-1800)) == nil)
    }

    @Test func theSignerIsJudgedAtTheGivenTime() async throws {
        let feed = try Self.signedFeed()
        let certificate = Self.identity.certificate
        let late = certificate.notValidAfter.addingTimeInterval(60)
        #expect(await Self.refusal(feed, at: late) == .certificateExpired(subject: "\(certificate.subject)", notValidAfter: certificate.notValidAfter))
        let early = certificate.notValidBefore.addingTimeInterval(-60)
        #expect(await Self.refusal(feed, at: early) == .certificateNotYetValid(subject: "\(certificate.subject)", notValidBefore: certificate.notValidBefore))
        #expect(await Self.refusal(feed, at: certificate.notValidBefore.addingTimeInterval(60)) == nil)
    }
}
