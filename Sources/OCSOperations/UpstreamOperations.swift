import Foundation
import OCSDomain
import OCSSigning
import OCSStorage

/// What Microsoft itself ships: documents from its OCS (`ocs upstream fetch`, the server's
/// schedule) or carried in by hand (`ocs upstream import`), each verified against Microsoft's
/// code-signing root, its time-stamp against Microsoft's time-stamping root, before anything is
/// kept; then which of its mitigations no rule in ocs has.
public struct UpstreamOperations: Sendable {
    let upstream: UpstreamStore
    let rules: RuleStore
    let verifier: FeedVerifier

    /// Microsoft's OCS endpoint, as the EM service and Microsoft's scripts reach it.
    public static let microsoftURL = URL(string: "https://officeclient.microsoft.com/getexchangemitigations")!

    /// `verifier`: Microsoft's roots, unless a test pins others.
    init(upstream: UpstreamStore, rules: RuleStore, verifier: FeedVerifier = UpstreamOperations.microsoft) {
        self.upstream = upstream
        self.rules = rules
        self.verifier = verifier
    }

    /// Trusts only Microsoft: the code-signing root of its documents, and the time-stamping root of
    /// their counter-signatures, so a signer certificate expired since is judged at the stamped time.
    public static let microsoft = FeedVerifier(trust: .roots([MicrosoftRoots.codeSigning]), timeStampRoots: [MicrosoftRoots.timeStamping])

    /// A document kept: whether it was new, and what it ships that ocs has no rule for.
    public struct Kept: Sendable, Equatable {
        public let document: UpstreamDocument
        public let isNew: Bool
        public let withoutRule: [String]
    }

    /// Verifies `document` and keeps it (see `UpstreamStore.keep`): a new document is audited, one
    /// kept before only seen again. A document that does not verify keeps nothing.
    public func keep(_ document: Data, origin: String, context: ChangeContext, at time: Date = Date()) async throws(OperationError) -> Kept {
        let verified: FeedVerifier.VerifiedFeed
        do {
            verified = try await verifier.verify(document, at: time)
        } catch {
            throw .upstream(error)
        }
        do {
            let (kept, isNew) = try upstream.keep(
                document, verified: UpstreamStore.Verified(configIDs: verified.configIDs, signer: verified.signer, stampedAt: verified.stampedAt),
                origin: origin, context: context, at: time
            )
            return Kept(document: kept, isNew: isNew, withoutRule: try withoutRule(kept.configIDs))
        } catch {
            throw OperationError(error)
        }
    }

    /// What Microsoft serves now, as far as ocs knows, and which of its Config ids no rule has.
    public func status() throws(OperationError) -> UpstreamStatus {
        do {
            let current = try upstream.current()
            return UpstreamStatus(current: current, withoutRule: try withoutRule(current?.configIDs ?? []))
        } catch {
            throw OperationError(error)
        }
    }

    /// The ids of `configIDs` that no rule in ocs has, in any state: a draft counts as taken up.
    private func withoutRule(_ configIDs: [String]) throws -> [String] {
        guard !configIDs.isEmpty else { return [] }
        let known = Set(try rules.all().map(\.rule.id))
        return configIDs.filter { !known.contains($0) }
    }
}
