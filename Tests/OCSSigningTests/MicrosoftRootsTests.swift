import Foundation
import OCSTestSupport
import Testing
import X509
@testable import OCSSigning

/// The roots shipped in the source are the files they were copied from, byte for byte.
struct MicrosoftRootsTests {
    @Test(arguments: [
        (MicrosoftRoots.codeSigning, MicrosoftRoots.codeSigningFingerprint, "microsoft-root-ca-2011.pem", "CN=Microsoft Root Certificate Authority 2011,"),
        (MicrosoftRoots.timeStamping, MicrosoftRoots.timeStampingFingerprint, "microsoft-root-ca-2010.pem", "CN=Microsoft Root Certificate Authority 2010,"),
    ])
    func theShippedRootIsTheReferenceFile(root: Certificate, fingerprint: String, file: String, subject: String) throws {
        #expect(SigningIdentity.fingerprint(of: root) == fingerprint)
        #expect("\(root.subject)".hasPrefix(subject), "\(root.subject)")
        let shared = SharedData.folder.appendingPathComponent(file).path
        try #require(FileManager.default.fileExists(atPath: shared), "the reference material ../shared is missing beside the checkout")
        for path in [shared, RepositoryFixtures.folder.appendingPathComponent("microsoft/\(file)").path] {
            let certificates = try SigningIdentity.certificates(in: path)
            #expect(certificates.count == 1, "\(path)")
            #expect(SigningIdentity.fingerprint(of: certificates[0]) == fingerprint, "\(path)")
        }
    }

    @Test func theFingerprintsAreTheDocumentedOnes() {
        // ../shared/docs/exchange-em-service.md: 847DF6A7...07ED7C61 and DF545BF9...6F3C163E.
        let compact = { (text: String) in text.replacingOccurrences(of: ":", with: "") }
        #expect(compact(MicrosoftRoots.codeSigningFingerprint).hasPrefix("847DF6A7") && compact(MicrosoftRoots.codeSigningFingerprint).hasSuffix("07ED7C61"))
        #expect(compact(MicrosoftRoots.timeStampingFingerprint).hasPrefix("DF545BF9") && compact(MicrosoftRoots.timeStampingFingerprint).hasSuffix("6F3C163E"))
    }
}
