import Foundation
import OCSTestSupport
import Synchronization
import Testing
import X509
import _CryptoExtras
@testable import OCSSigning

struct SigningIdentityTests {
    static let identity = try! SigningIdentity.generate(commonName: "identity tests")

    @Test func generatesRSA3072WithCodeSigning() throws {
        #expect(Self.identity.privateKey.keySizeInBits == 3072)
        #expect(try Self.identity.certificate.extensions.extendedKeyUsage?.contains(.codeSigning) == true)
        #expect(Self.identity.certificate.subject == Self.identity.certificate.issuer)
        #expect(Self.identity.fingerprint.split(separator: ":").count == 32)
    }

    @Test func writesOwnerOnlyFilesThatLoadBackAndNeverReplaces() throws {
        let folder = try ScratchFolder()
        let key = folder.path("keys/key.pem"), cert = folder.path("keys/cert.pem")
        try Self.identity.write(keyFile: key, certificateFile: cert)
        for file in [key, cert] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        let loaded = try SigningIdentity.load(keyFile: key, certificateFile: cert)
        #expect(loaded.certificate == Self.identity.certificate)
        #expect(throws: SigningIdentityError.self) { try Self.identity.write(keyFile: key, certificateFile: cert) }
    }

    @Test func developmentIdentityIsCreatedOnceThenReused() throws {
        let folder = try ScratchFolder()
        let first = try SigningIdentity.development(in: folder.path("data"))
        let second = try SigningIdentity.development(in: folder.path("data"))
        #expect(first.origin == .created && second.origin == .loaded)
        #expect(first.identity.certificate == second.identity.certificate)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path("data")).sorted()
        #expect(left == ["dev-signing-cert.pem", "dev-signing-key.pem", "dev-signing.lock"], "no temporary file is left behind")
    }

    /// What a start killed mid-write (by an older version, or between renames) can leave behind.
    @Test(arguments: [
        (key: "valid", certificate: nil, found: "dev-signing-cert.pem is missing"),
        (key: "", certificate: nil, found: "dev-signing-key.pem was empty, dev-signing-cert.pem is missing"),
        (key: nil, certificate: "valid", found: "dev-signing-key.pem is missing"),
        (key: "cut", certificate: "valid", found: "dev-signing-key.pem was not a PEM RSA private key (cut short?)"),
        (key: "valid", certificate: "cut", found: "dev-signing-cert.pem was not a PEM certificate (cut short?)"),
        (key: "valid", certificate: "", found: "dev-signing-cert.pem was empty"),
    ] as [(key: String?, certificate: String?, found: String)])
    func developmentHalfPairIsReplacedAndSaysWhat(key: String?, certificate: String?, found: String) throws {
        let folder = try ScratchFolder()
        let keyFile = folder.path(SigningIdentity.developmentKeyName), certificateFile = folder.path(SigningIdentity.developmentCertificateName)
        let keyPEM = Self.identity.privateKey.pkcs8PEMRepresentation + "\n"
        let certificatePEM = try Self.identity.certificate.serializeAsPEM().pemString + "\n"
        for (file, content, valid) in [(keyFile, key, keyPEM), (certificateFile, certificate, certificatePEM)] {
            guard let content else { continue }
            let text = switch content { case "valid": valid; case "cut": String(valid.prefix(valid.count / 2)); default: content }
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        }
        let replaced = try SigningIdentity.development(in: folder.url.path)
        #expect(replaced.origin == .replacedHalfPair(found))
        #expect(replaced.identity.certificate != Self.identity.certificate)
        let reloaded = try SigningIdentity.load(keyFile: keyFile, certificateFile: certificateFile)
        #expect(reloaded.certificate == replaced.identity.certificate)
        #expect(try SigningIdentity.development(in: folder.url.path).origin == .loaded)
    }

    @Test func developmentPairThatDoesNotMatchIsRefusedNotReplaced() throws {
        let folder = try ScratchFolder()
        let other = try SigningIdentity.generate(commonName: "other")
        try Data(Self.identity.privateKey.pkcs8PEMRepresentation.utf8).write(to: URL(fileURLWithPath: folder.path(SigningIdentity.developmentKeyName)))
        try Data(other.certificate.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: folder.path(SigningIdentity.developmentCertificateName)))
        #expect { try SigningIdentity.development(in: folder.url.path) } throws: {
            ($0 as? SigningIdentityError)?.description.contains("the key does not match the certificate") == true
        }
        let kept = try SigningIdentity.certificates(in: folder.path(SigningIdentity.developmentCertificateName))
        #expect(kept == [other.certificate])
    }

    @Test func developmentTemporaryFilesOfAKilledStartAreRemoved() throws {
        let folder = try ScratchFolder()
        let leftover = folder.path(".dev-signing-key.pem.tmp-1234-stale")
        try Data("-----BEGIN PRIVATE KEY-----\n".utf8).write(to: URL(fileURLWithPath: leftover))
        #expect(try SigningIdentity.development(in: folder.url.path).origin == .created)
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }

    @Test func concurrentDevelopmentCallsShareOnePair() throws {
        let folder = try ScratchFolder()
        let results = Mutex<[(fingerprint: String, origin: SigningIdentity.DevelopmentOrigin)]>([])
        let failures = Mutex<[String]>([])
        let data = folder.path("data")
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                let development = try SigningIdentity.development(in: data)
                results.withLock { $0.append((development.identity.fingerprint, development.origin)) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let all = results.withLock { $0 }
        #expect(all.count == 6)
        #expect(Set(all.map(\.fingerprint)).count == 1)
        #expect(all.filter { $0.origin == .created }.count == 1)
    }

    @Test func refusesAKeyThatIsNotTheCertificates() throws {
        let folder = try ScratchFolder()
        let other = try SigningIdentity.generate(commonName: "other")
        try Self.identity.write(keyFile: folder.path("a/key.pem"), certificateFile: folder.path("a/cert.pem"))
        try other.write(keyFile: folder.path("b/key.pem"), certificateFile: folder.path("b/cert.pem"))
        do {
            _ = try SigningIdentity.load(keyFile: folder.path("a/key.pem"), certificateFile: folder.path("b/cert.pem"))
            Issue.record("a mismatched key was accepted")
        } catch {
            #expect(error.description.contains("the key does not match the certificate"))
            #expect(error.description.contains(folder.path("a/key.pem")))
        }
    }

    @Test func refusesExpiredAndNotYetValidCertificates() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let pki = try TestPKI()
        let expired = try pki.leaf(key: key, notBefore: Date().addingTimeInterval(-86_400 * 10), notAfter: Date().addingTimeInterval(-86_400))
        #expect { try SigningIdentity(privateKey: key, certificate: expired, chain: []) } throws: { ($0 as? SigningIdentityError)?.description.contains("expired on") == true }
        let future = try pki.leaf(key: key, notBefore: Date().addingTimeInterval(86_400), notAfter: Date().addingTimeInterval(86_400 * 10))
        #expect { try SigningIdentity(privateKey: key, certificate: future, chain: []) } throws: { ($0 as? SigningIdentityError)?.description.contains("not valid before") == true }
    }

    @Test func refusesACertificateWithoutCodeSigning() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let certificate = try TestPKI().leaf(key: key, codeSigning: false)
        #expect { try SigningIdentity(privateKey: key, certificate: certificate, chain: []) } throws: { ($0 as? SigningIdentityError)?.description.contains("code-signing") == true }
    }

    /// Issue 19: `ocs serve` signed with a chain whose intermediate is not a CA, which every agent
    /// trusting the root with `--ca` refuses. The chain is judged as agents judge it, its last
    /// certificate taken as the root (the root itself or, when left out, the top intermediate).
    @Test func aChainAgentsWouldRefuseIsRefused() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        func check(_ pki: TestPKI, withRoot: Bool = true) async throws -> SigningIdentityError? {
            let identity = try SigningIdentity(privateKey: key, certificate: pki.leaf(key: key), chain: [pki.intermediate] + (withRoot ? [pki.root] : []))
            do {
                try await identity.checkChain()
                return nil
            } catch {
                return error
            }
        }
        let notACA = try #require(await check(TestPKI(intermediateIsAuthority: false)))
        #expect(notACA.description == "the certificate (CN=Feed Signer) and its chain are not one agents trusting CN=Test Root accept: Certificate CN=Test Intermediate is not marked as a CA")
        #expect(try await check(TestPKI(intermediateIsAuthority: false), withRoot: false) != nil, "the intermediate as the top is not a CA either")
        let serverOnly = try #require(await check(TestPKI(intermediateUsages: [.serverAuth])))
        #expect(serverOnly.description.hasSuffix("CN=Test Intermediate may only issue certificates for serverAuth, not code signing"), "\(serverOnly)")
        // A leaf the chain did not issue.
        let stranger = try SigningIdentity(privateKey: key, certificate: TestPKI(name: "Other").leaf(key: key), chain: [TestPKI().intermediate])
        await #expect(throws: SigningIdentityError.self) { try await stranger.checkChain() }

        #expect(try await check(TestPKI()) == nil)
        #expect(try await check(TestPKI(), withRoot: false) == nil)
        try await Self.identity.checkChain()
    }

    @Test func namesGarbageAndMissingFiles() throws {
        let folder = try ScratchFolder()
        let garbage = folder.path("garbage.pem")
        try Data("this is not PEM\n".utf8).write(to: URL(fileURLWithPath: garbage))
        try Self.identity.write(keyFile: folder.path("key.pem"), certificateFile: folder.path("cert.pem"))
        #expect(throws: SigningIdentityError.malformed(file: garbage, reason: "not an RSA private key in PEM form (\"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\")")) {
            try SigningIdentity.load(keyFile: garbage, certificateFile: folder.path("cert.pem"))
        }
        #expect(throws: SigningIdentityError.malformed(file: garbage, reason: "holds no PEM certificate (expected \"BEGIN CERTIFICATE\" blocks)")) {
            try SigningIdentity.load(keyFile: folder.path("key.pem"), certificateFile: garbage)
        }
        #expect(throws: SigningIdentityError.unreadable(file: folder.path("none.pem"), reason: "no such file")) {
            try SigningIdentity.load(keyFile: folder.path("none.pem"), certificateFile: folder.path("cert.pem"))
        }
    }
}
