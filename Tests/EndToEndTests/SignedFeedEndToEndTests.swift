import Foundation
import OCSTestSupport
import Testing
import X509
import _CryptoExtras

@Suite(.serialized)
struct SignedFeedEndToEndTests {
    static let builds = ["15.2.1118.7", "15.2.1118.15", "15.1.2507.6", "15.2.2562.17", "15.2.922.27"]

    func feed(_ server: ServerProcess, build: String, _ options: [String] = []) throws -> CurlResponse {
        try Curl.request(server.baseURL + "/getexchangemitigations?build=\(build)", options)
    }

    var developmentCertificate: (Workspace) -> String {
        { $0.folder.appendingPathComponent("data/dev-signing-cert.pem").path }
    }

    @Test func everyFeedVerifiesWithXmlsec1AndOcsVerify() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        #expect(server.log.contains("development signing key"))
        for build in Self.builds {
            let response = try feed(server, build: build)
            let xmlsec = try XMLSec.verify(response.body, trusting: developmentCertificate(workspace))
            #expect(xmlsec.status == 0, "\(build): \(xmlsec.stderr)")
            let file = try workspace.write(response.text, to: "feed-\(build).xml")
            let verified = try workspace.ocs("verify", file, "--cert", developmentCertificate(workspace))
            #expect(verified.status == 0, "\(build): \(verified.stderr)")
            let ids = try XMLLint.configIDs(response.body).joined(separator: ",")
            #expect(verified.output.hasPrefix("verified: serial 2, issued "))
            #expect(verified.output.contains("configs \(ids),"))
        }
    }

    @Test func aChangedByteOrAnotherKeyFailsBothVerifiers() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let trusted = developmentCertificate(workspace)
        let original = try feed(server, build: "15.2.1118.7").text

        let tampered = original.replacingOccurrences(of: "AbortRequest", with: "AbortRequesT")
        #expect(try XMLSec.verify(Data(tampered.utf8), trusting: trusted).status != 0)
        let tamperedFile = try workspace.write(tampered, to: "tampered.xml")
        let rejected = try workspace.ocs("verify", tamperedFile, "--cert", trusted)
        #expect(rejected.status != 0)
        #expect(rejected.stderr.contains("the digest does not match"))

        // Another key signs the same feed: internally valid, but not by the pinned certificate.
        let other = workspace.folder.appendingPathComponent("other").path
        #expect(try workspace.ocs("keys", "init", "--dir", other).status == 0)
        let forged = try workspace.ocs(
            "feed", "--build", "15.2.1118.7", "--db", workspace.database,
            "--signing-key", other + "/signing-key.pem", "--signing-cert", other + "/signing-cert.pem", "--rotate-signing-key"
        )
        #expect(forged.status == 0)
        #expect(try XMLSec.verify(forged.stdout, trusting: other + "/signing-cert.pem").status == 0)
        #expect(try XMLSec.verify(forged.stdout, trusting: trusted).status != 0)
        let forgedFile = try workspace.write(forged.output, to: "forged.xml")
        let notTrusted = try workspace.ocs("verify", forgedFile, "--cert", trusted)
        #expect(notTrusted.status != 0)
        #expect(notTrusted.stderr.contains("not by the pinned certificate"))
    }

    @Test func ocsVerifyAcceptsAFeedThatXmlsec1ResignedWithItsKey() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let other = workspace.folder.appendingPathComponent("other").path
        #expect(try workspace.ocs("keys", "init", "--dir", other).status == 0)
        // A template: the served feed with the signature's values emptied, for xmlsec1 to fill.
        var text = try feed(server, build: "15.2.1118.7").text
        text = text.replacingOccurrences(of: #"<DigestValue>[^<]*</DigestValue>"#, with: "<DigestValue></DigestValue>", options: .regularExpression)
        text = text.replacingOccurrences(of: #"<SignatureValue>[^<]*</SignatureValue>"#, with: "<SignatureValue></SignatureValue>", options: .regularExpression)
        text = text.replacingOccurrences(of: #"<KeyInfo>.*</KeyInfo>"#, with: "<KeyInfo><X509Data></X509Data></KeyInfo>", options: .regularExpression)
        let template = try workspace.write(text, to: "template.xml")
        let resigned = workspace.folder.appendingPathComponent("resigned.xml").path
        let signed = try Command.run("xmlsec1", [
            "--sign", "--privkey-pem", "\(other)/signing-key.pem,\(other)/signing-cert.pem", "--output", resigned, template,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        let accepted = try workspace.ocs("verify", resigned, "--cert", "\(other)/signing-cert.pem")
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let rejected = try workspace.ocs("verify", resigned, "--cert", developmentCertificate(workspace))
        #expect(rejected.status != 0)
    }

    @Test func aCAIssuedChainVerifiesAgainstItsRootOnly() throws {
        let workspace = try Workspace()
        let pki = try OpenSSLChain(in: workspace.folder.appendingPathComponent("pki"))
        let server = try ServerProcess(database: workspace.database, arguments: [
            "--rules", workspace.rules,
            "--signing-key", pki.leafKey, "--signing-cert", pki.leafCertificate, "--signing-chain", pki.intermediate,
        ])
        defer { server.stop() }
        #expect(!server.log.contains("development signing key"))
        let response = try feed(server, build: "15.1.2507.6")
        #expect(try XMLSec.verify(response.body, trusting: pki.root).status == 0)
        #expect(try XMLSec.verify(response.body, trusting: pki.otherRoot).status != 0)
        let file = try workspace.write(response.text, to: "feed.xml")
        let verified = try workspace.ocs("verify", file, "--ca", pki.root)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.output.contains("configs M1,PING1"))
        let wrongRoot = try workspace.ocs("verify", file, "--ca", pki.otherRoot)
        #expect(wrongRoot.status != 0)
        #expect(wrongRoot.stderr.contains("does not chain to the given CA"))
    }

    /// Polls that identify their host: each is served the feed as of its check-in's commit, so it
    /// sees another process's change at once (an anonymous poll within the watch interval).
    @Test func serialGrowsWithPublishedChangesOnlyAndTheNextIdentifiedPollShowsThem() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        func serial() throws -> Int {
            let text = try feed(server, build: "15.2.1544.4&server=EX-SERIAL").text
            let match = try #require(text.firstMatch(of: /serial="(\d+)"/))
            return Int(match.1)!
        }
        func ids() throws -> [String] { try XMLLint.configIDs(feed(server, build: "15.2.1544.4&server=EX-SERIAL").body) }
        func importRule(state: String) throws {
            let file = try workspace.write("id: M7\ndescription: test\nstate: \(state)\nactions:\n  - type: DisableAppPool\n    appPool: MSExchangeECPAppPool\n", to: "m7/M7.yaml")
            #expect(try workspace.ocs("rules", "import", file, "--db", workspace.database).status == 0)
        }
        let start = try serial()
        try importRule(state: "draft")
        #expect(try serial() == start, "a draft changes nothing served")
        #expect(try ids() == ["PING1"])
        try importRule(state: "published")
        #expect(try serial() == start + 1)
        #expect(try ids() == ["M7", "PING1"])
        try importRule(state: "published")
        #expect(try serial() == start + 1, "re-importing the same rule changes nothing")
        try importRule(state: "retired")
        #expect(try serial() == start + 2)
        #expect(try ids() == ["PING1"])
    }

    @Test func notModifiedStillChecksInAndGzipRoundTrips() throws {
        let workspace = try Workspace()
        let server = try workspace.startServer()
        defer { server.stop() }
        let url = server.baseURL + "/getexchangemitigations?build=15.2.1118.7&server=EX01"
        let full = try Curl.request(url)
        let etag = try #require(full.header("ETag"))
        #expect(full.header("Cache-Control") == "no-cache")
        let notModified = try Curl.request(url, ["-H", "If-None-Match: \(etag)"])
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("ETag") == etag)
        #expect(try Curl.request(url, ["-H", "If-None-Match: \"other\""]).status == 200)
        let hosts = try workspace.ocs("hosts", "--json", "--db", workspace.database).output
        #expect(hosts.contains("\"pollCount\" : 3"))

        let gzipped = try Curl.request(url, ["-H", "Accept-Encoding: gzip"])
        #expect(gzipped.header("Content-Encoding") == "gzip")
        #expect(gzipped.header("Vary") == "Accept-Encoding")
        #expect(gzipped.body.count < full.body.count)
        let file = try workspace.write("", to: "feed.xml.gz")
        try gzipped.body.write(to: URL(fileURLWithPath: file))
        let gunzipped = try Command.run("gzip", ["--decompress", "--stdout", file])
        #expect(gunzipped.stdout == full.body)
        let gzipETag = try #require(gzipped.header("ETag"))
        #expect(gzipETag != etag)
        #expect(try Curl.request(url, ["-H", "Accept-Encoding: gzip", "-H", "If-None-Match: \(gzipETag)"]).status == 304)
    }

    @Test func refusesToStartWithABadSigningIdentity() throws {
        let workspace = try Workspace()
        let a = workspace.folder.appendingPathComponent("a").path, b = workspace.folder.appendingPathComponent("b").path
        #expect(try workspace.ocs("keys", "init", "--dir", a).status == 0)
        #expect(try workspace.ocs("keys", "init", "--dir", b).status == 0)
        let garbage = try workspace.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", to: "garbage.pem")
        let expired = try ExpiredCertificate(in: workspace.folder.appendingPathComponent("expired"))
        // Chains agents trusting the root with --ca refuse (issue 19).
        let notACA = try OpenSSLChain(in: workspace.folder.appendingPathComponent("not-a-ca"),
                                      intermediateExtensions: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
        let serverOnly = try OpenSSLChain(in: workspace.folder.appendingPathComponent("server-only"),
                                          intermediateExtensions: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nextendedKeyUsage=serverAuth\n")
        let cases: [([String], String)] = [
            (["--signing-key", notACA.leafKey, "--signing-cert", notACA.leafCertificate, "--signing-chain", notACA.intermediate],
             "Certificate CN=intermediate is not marked as a CA"),
            (["--signing-key", serverOnly.leafKey, "--signing-cert", serverOnly.leafCertificate, "--signing-chain", serverOnly.intermediate],
             "CN=intermediate may only issue certificates for serverAuth, not code signing"),
            (["--signing-key", "\(a)/signing-key.pem", "--signing-cert", "\(b)/signing-cert.pem"], "the key does not match the certificate"),
            (["--signing-key", expired.key, "--signing-cert", expired.certificate], "expired on"),
            (["--signing-key", garbage, "--signing-cert", "\(a)/signing-cert.pem"], "\(garbage): not an RSA private key"),
            (["--signing-key", "\(a)/signing-key.pem", "--signing-cert", garbage], "\(garbage): holds no PEM certificate"),
            (["--signing-key", "\(a)/missing.pem", "--signing-cert", "\(a)/signing-cert.pem"], "\(a)/missing.pem: cannot read: no such file"),
            (["--signing-key", "\(a)/signing-key.pem"], "give the signing key and certificate together"),
        ]
        for (arguments, message) in cases {
            let result = try Command.run(Command.ocs, ["serve", "--port", "0", "--db", workspace.database] + arguments, timeout: 30)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let keysAgain = try workspace.ocs("keys", "init", "--dir", a)
        #expect(keysAgain.status != 0)
        #expect(keysAgain.stderr.contains("exists"))
        let mode = try FileManager.default.attributesOfItem(atPath: "\(a)/signing-key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

/// A root, an intermediate and a code-signing leaf made by openssl, plus an unrelated root.
struct OpenSSLChain {
    let root: String, otherRoot: String, intermediate: String, leafKey: String, leafCertificate: String

    /// `intermediateExtensions`: the intermediate's extensions, in openssl's extension file syntax.
    init(in folder: URL, intermediateExtensions: String = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n") throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        func openssl(_ arguments: [String]) throws {
            let result = try Command.run("openssl", arguments)
            guard result.status == 0 else { throw CommandFailedError(message: result.stderr) }
        }
        func selfSignedRoot(_ name: String) throws {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).pem"),
                         "-days", "30", "-subj", "/CN=\(name)", "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        try selfSignedRoot("root")
        try selfSignedRoot("other-root")
        try Data(intermediateExtensions.utf8).write(to: URL(fileURLWithPath: path("ca.ext")))
        try Data("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n".utf8).write(to: URL(fileURLWithPath: path("leaf.ext")))
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("intermediate.key"), "-out", path("intermediate.csr"), "-subj", "/CN=intermediate"])
        try openssl(["x509", "-req", "-in", path("intermediate.csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"), "-CAcreateserial",
                     "-out", path("intermediate.pem"), "-days", "30", "-extfile", path("ca.ext")])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("leaf.key"), "-out", path("leaf.csr"), "-subj", "/CN=feed signer"])
        try openssl(["x509", "-req", "-in", path("leaf.csr"), "-CA", path("intermediate.pem"), "-CAkey", path("intermediate.key"), "-CAcreateserial",
                     "-out", path("leaf.pem"), "-days", "30", "-extfile", path("leaf.ext")])
        root = path("root.pem")
        otherRoot = path("other-root.pem")
        intermediate = path("intermediate.pem")
        leafKey = path("leaf.key")
        leafCertificate = path("leaf.pem")
    }
}

struct CommandFailedError: Error {
    let message: String
}

/// A key and a code-signing certificate that expired yesterday, or expires at `notValidAfter`
/// (openssl cannot backdate one).
struct ExpiredCertificate {
    let key: String, certificate: String

    init(in folder: URL, notValidAfter: Date = Date().addingTimeInterval(-86_400)) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName("expired signer") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(privateKey.publicKey),
            notValidBefore: Date().addingTimeInterval(-86_400 * 30), notValidAfter: notValidAfter,
            issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions { try ExtendedKeyUsage([.codeSigning]) },
            issuerPrivateKey: .init(privateKey)
        )
        key = folder.appendingPathComponent("key.pem").path
        self.certificate = folder.appendingPathComponent("cert.pem").path
        try Data(privateKey.pkcs8PEMRepresentation.utf8).write(to: URL(fileURLWithPath: key))
        try Data(certificate.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: self.certificate))
    }
}
