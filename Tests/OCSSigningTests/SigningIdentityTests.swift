import Foundation
import OCSTestSupport
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
        #expect(first.created && !second.created)
        #expect(first.identity.certificate == second.identity.certificate)
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
