import Foundation

/// A change to what the feed serves that two-person approval may hold back.
public enum RuleChangeRequest: Sendable, Equatable {
    /// Publish `revision` (nil: the latest) to `release` (nil: as `RuleStore.publish` decides).
    case publish(id: String, revision: Int?, release: Release?)
    case promote(id: String, release: Release)
    case retire(id: String)

    public var ruleID: String {
        switch self {
        case .publish(let id, _, _), .promote(let id, _), .retire(let id): id
        }
    }

    /// `publish`, `promote` or `retire`, as stored and shown.
    public var kind: String {
        switch self {
        case .publish: "publish"
        case .promote: "promote"
        case .retire: "retire"
        }
    }

    /// The audit action of applying it.
    public var auditAction: String { "rule.\(kind)" }

    /// `publish M1 revision 3 to groups canary`, for messages and listings.
    public var summary: String {
        switch self {
        case .publish(let id, let revision, let release):
            "publish \(id)\(revision.map { " revision \($0)" } ?? "")\(release.map { " to \($0)" } ?? "")"
        case .promote(let id, let release): "promote \(id) to \(release)"
        case .retire(let id): "retire \(id)"
        }
    }
}

/// A change waiting for, or decided by, a second person.
public struct PendingChange: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case pending, approved, rejected, expired
    }

    public let id: Int64
    public let request: RuleChangeRequest
    /// The rule's latest revision when the change was asked for: approval needs it unchanged.
    public let baseRevision: Int
    public let author: String
    public let reason: String?
    public let createdAt: Date
    public let expiresAt: Date
    /// `expired` is a pending change past `expiresAt`.
    public let state: State
    public let decidedBy: String?
    public let decidedAt: Date?

    public init(
        id: Int64, request: RuleChangeRequest, baseRevision: Int, author: String, reason: String?,
        createdAt: Date, expiresAt: Date, state: State, decidedBy: String?, decidedAt: Date?
    ) {
        self.id = id
        self.request = request
        self.baseRevision = baseRevision
        self.author = author
        self.reason = reason
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.state = state
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
    }
}
