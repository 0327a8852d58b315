import Foundation

/// What an API token may do. `reader`, `publisher` and `admin` each include the ones before it;
/// `reporter` includes nothing else, and only `reportsInventory` grants it anything.
public enum Role: String, CaseIterable, Codable, Sendable, Comparable {
    /// Only post `Get-ExchangeServer` reports (`POST /api/v1/inventory`): the token a scheduled
    /// script on a management server holds, useless to whoever steals it for anything else.
    case reporter
    /// Read rules, hosts and the audit trail.
    case reader
    /// Also create, edit, publish, promote, retire and delete rules, manage host groups, and
    /// approve or reject others' pending changes.
    case publisher
    /// Also manage tokens and the approval policy, and apply a change alone as an emergency.
    case admin

    /// Whether the role may post an inventory report: the reporter, and those who may change rules.
    public var reportsInventory: Bool { self == .reporter || self >= .publisher }

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// An API token as listed: never its secret.
public struct APIToken: Sendable, Equatable, Codable {
    public let name: String
    public let role: Role
    public let createdAt: Date
    public let revokedAt: Date?

    public init(name: String, role: Role, createdAt: Date, revokedAt: Date?) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
