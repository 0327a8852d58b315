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

    /// Trusts only Microsoft: the code-signing root of its documents, with the usage Microsoft's EM
    /// service requires of their signer, and the time-stamping root of their counter-signatures, so
    /// a signer certificate expired since is judged at the stamped time.
    public static let microsoft = FeedVerifier(
        trust: .roots([MicrosoftRoots.codeSigning]), timeStampRoots: [MicrosoftRoots.timeStamping], signerUsage: FeedVerifier.exchangeMitigationSigning
    )

    /// A document kept: whether it was new, and what it ships that ocs has no rule for.
    public struct Kept: Sendable, Equatable {
        public let document: UpstreamDocument
        public let isNew: Bool
        public let withoutRule: [String]
    }

    /// Verifies `document` and keeps it (see `UpstreamStore.keep`): a new document is audited, one
    /// kept before only seen again. A document that does not verify keeps nothing.
    public func keep(_ document: Data, origin: String, context: ChangeContext, at time: Date = Date()) async throws(OperationError) -> Kept {
        let verified = try await verify(document, at: time)
        return try record(document, verified: verified, origin: origin, context: context, at: time)
    }

    /// Verifies `document` as Microsoft's, at `time` (its signer at its stamped time); nothing is kept.
    public func verify(_ document: Data, at time: Date = Date()) async throws(OperationError) -> UpstreamStore.Verified {
        do {
            let verified = try await verifier.verify(document, at: time)
            return UpstreamStore.Verified(configIDs: verified.configIDs, signer: verified.signer, stampedAt: verified.stampedAt)
        } catch {
            throw .upstream(error)
        }
    }

    /// Keeps a document `verify` accepted: blocking database work, for a thread that may block.
    public func record(_ document: Data, verified: UpstreamStore.Verified, origin: String, context: ChangeContext, at time: Date = Date()) throws(OperationError) -> Kept {
        do {
            let (kept, isNew) = try upstream.keep(document, verified: verified, origin: origin, context: context, at: time)
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

    /// The ids of `configIDs` that no draft or published rule in ocs has: a draft counts as taken
    /// up, a retired rule does not (Microsoft ships what the team stopped serving).
    private func withoutRule(_ configIDs: [String]) throws -> [String] {
        let live = try rules.liveRules(among: configIDs)
        return configIDs.filter { !live.contains($0) }
    }
}
