import Foundation
import SwiftASN1
// The fixed-time RFC 5280 policy is the library's supported way to judge a chain at a given time.
@_spi(FixedExpiryValidationTime) import X509

/// Whether a signing certificate chains to a trusted root as Windows requires of a code signer or
/// a time-stamping authority: RFC 5280 (signatures, validity at the time judged, every issuer a
/// CA) and the extended key usages of the issuers. `ocs verify` and the agent judge a feed's chain
/// with it (code signing) and the chain of its time stamp (time stamping), and `ocs serve` its own
/// signing chain, so the server never signs with a chain its agents would refuse.
enum SigningChain {
    /// Why `leaf` does not chain through `intermediates` to one of `roots` at `time` for `usage`,
    /// in one line naming certificates by subject; nil when it does.
    static func problem(
        leaf: Certificate, intermediates: [Certificate], roots: [Certificate], at time: Date,
        usage: ExtendedKeyUsage.Usage = .codeSigning
    ) async -> String? {
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            IssuerUsagePolicy(usage: usage)
            CertificatePoliciesConstrainNothing()
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate:
            return nil
        case .couldNotValidate(let failures):
            return reason(failures)
        }
    }

    /// One line for why no chain validated: the policy's reason with each certificate named by
    /// its subject (the policy's own text prints whole certificate structures).
    private static func reason(_ failures: [CertificateValidationResult.PolicyFailure]) -> String {
        guard let failure = failures.first else {
            return "no path from it to the CA (is an intermediate certificate missing from the chain?)"
        }
        var reason = failure.policyFailureReason.description
        for certificate in failure.chain {
            reason = reason.replacingOccurrences(of: "\(certificate)", with: "\(certificate.subject)")
        }
        if reason.hasPrefix("RFC5280Policy: ") { reason.removeFirst("RFC5280Policy: ".count) }
        return reason.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Windows' rule, which RFC 5280 and swift-certificates leave out: an issuer (intermediate or
    /// root) with an extended key usage extension limits what it issues to those usages, so each
    /// one that has the extension must allow `usage` or any usage. A code-signing leaf under an
    /// intermediate limited to `serverAuth` is refused. The leaf's own usage is checked by
    /// `FeedVerifier`, `TimeStampToken` and `SigningIdentity`; this policy enforces the extension
    /// wherever it appears, so a critical one is understood.
    struct IssuerUsagePolicy: VerifierPolicy {
        let usage: ExtendedKeyUsage.Usage
        let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

        func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
            for issuer in chain.dropFirst() {
                let usages: ExtendedKeyUsage?
                do {
                    usages = try issuer.extensions.extendedKeyUsage
                } catch {
                    return .failsToMeetPolicy(reason: "the extended key usage extension of \(issuer.subject) is malformed")
                }
                guard let usages, !usages.contains(usage), !usages.contains(.any) else { continue }
                let names = usages.map { "\($0)" }.joined(separator: ", ")
                return .failsToMeetPolicy(reason: "\(issuer.subject) may only issue certificates for \(names), not \(Self.name(of: usage))")
            }
            return .meetsPolicy
        }

        static func name(of usage: ExtendedKeyUsage.Usage) -> String {
            usage == .timeStamping ? "time stamping" : usage == .codeSigning ? "code signing" : "\(usage)"
        }
    }

    /// RFC 5280 §6.1 run as Windows runs it for code signing and time stamping: the initial policy
    /// set any-policy and no explicit policy required. Then a certificate policies extension, critical
    /// or not, cannot fail a path (only policy constraints or inhibit-any-policy could require an
    /// explicit policy, and they stay unknown, so refused when critical): it is understood by
    /// accepting it. Microsoft Time-Stamp PCA 2010 marks its own critical.
    struct CertificatePoliciesConstrainNothing: VerifierPolicy {
        static let certificatePolicies: ASN1ObjectIdentifier = [2, 5, 29, 32]
        let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [Self.certificatePolicies]

        func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
            .meetsPolicy
        }
    }
}
