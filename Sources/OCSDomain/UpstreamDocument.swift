import Foundation

/// A document Microsoft's OCS served, as ocs keeps it: verified against Microsoft's roots before
/// anything was kept, its bytes stored verbatim under their SHA-256 (`digest`).
public struct UpstreamDocument: Sendable, Equatable {
    public let id: Int64
    /// SHA-256 of the bytes, lowercase hex.
    public let digest: String
    public let size: Int
    /// The signed `Config` ids, in document order.
    public let configIDs: [String]
    /// The signing certificate's subject.
    public let signer: String
    /// When the document's time-stamp says it was signed; nil for a document without one.
    public let stampedAt: Date?
    /// Where it was first seen: the URL fetched, or `import`.
    public let origin: String
    public let firstSeen: Date
    /// The last fetch or import that got these bytes.
    public let lastSeen: Date

    public init(
        id: Int64, digest: String, size: Int, configIDs: [String], signer: String, stampedAt: Date?, origin: String, firstSeen: Date, lastSeen: Date
    ) {
        self.id = id
        self.digest = digest
        self.size = size
        self.configIDs = configIDs
        self.signer = signer
        self.stampedAt = stampedAt
        self.origin = origin
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// What Microsoft serves now, as far as ocs knows: the document seen last, and which of its
/// Config ids no rule in ocs has (a mitigation Microsoft ships that the team has not taken up).
public struct UpstreamStatus: Sendable, Equatable {
    public let current: UpstreamDocument?
    /// Config ids of `current` without a rule of that id in ocs, in document order.
    public let withoutRule: [String]

    public init(current: UpstreamDocument?, withoutRule: [String]) {
        self.current = current
        self.withoutRule = withoutRule
    }
}
