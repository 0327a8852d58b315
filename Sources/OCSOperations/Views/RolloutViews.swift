import Foundation
import OCSDomain
import OCSStorage

/// A host group as the API and `ocs groups --json` show it: `{name, kind, members, createdAt, createdBy}`.
public struct GroupView: Encodable, Sendable {
    public let name: String
    /// `hosts`, `names` or `org`.
    public let kind: String
    /// serverIds and names, name patterns, or the one organization GUID.
    public let members: [String]
    public let createdAt: Date
    public let createdBy: String

    public init(_ record: HostGroupRecord) {
        name = record.group.name
        kind = record.group.selector.kind
        members = record.group.selector.values
        createdAt = record.createdAt
        createdBy = record.createdBy
    }
}

/// A rule's stage as views show it: `"everyone"`, or the group names.
public struct ReleaseView: Encodable, Sendable, Equatable {
    public let everyone: Bool
    public let groups: [String]

    public init(_ release: Release) {
        everyone = release == .everyone
        groups = release.groupNames
    }
}

/// A change held for approval, as the API and `ocs changes list --json` show it.
public struct ChangeView: Encodable, Sendable {
    public let id: Int64
    public let action: String
    public let rule: String
    public let revision: Int?
    public let release: ReleaseView?
    public let summary: String
    public let baseRevision: Int
    public let author: String
    public let reason: String?
    public let createdAt: Date
    public let expiresAt: Date
    /// `pending`, `approved`, `rejected` or `expired`.
    public let state: String
    public let decidedBy: String?
    public let decidedAt: Date?

    public init(_ change: PendingChange) {
        id = change.id
        action = change.request.kind
        rule = change.request.ruleID
        switch change.request {
        case .publish(_, let revision, let release):
            self.revision = revision
            self.release = release.map(ReleaseView.init)
        case .promote(_, let release):
            revision = nil
            self.release = ReleaseView(release)
        case .retire:
            revision = nil
            release = nil
        }
        summary = change.request.summary
        baseRevision = change.baseRevision
        author = change.author
        reason = change.reason
        createdAt = change.createdAt
        expiresAt = change.expiresAt
        state = change.state.rawValue
        decidedBy = change.decidedBy
        decidedAt = change.decidedAt
    }
}

/// `GET /api/v1/policy`: the server's policies.
public struct PolicyView: Encodable, Sendable {
    public let requireApproval: Bool

    public init(requireApproval: Bool) {
        self.requireApproval = requireApproval
    }

    enum CodingKeys: String, CodingKey { case requireApproval = "require-approval" }
}
