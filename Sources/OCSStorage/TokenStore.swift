import Crypto
import Foundation
import OCSDomain

/// API bearer tokens. Only a SHA-256 hash of each secret is stored; a presented token is
/// compared against every live hash in constant time, so timing tells nothing about any of them.
public struct TokenStore: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// Token names take the form of rule ids: they appear in logs and the audit trail.
    public static func isValidName(_ name: String) -> Bool {
        RuleValidator.isValidID(name)
    }

    /// Creates a token and returns its secret, the only time it is ever available.
    public func create(name: String, role: Role, context: ChangeContext) throws(TokenError) -> String {
        guard Self.isValidName(name) else { throw .invalidName(name) }
        let secret = Secret.make(prefix: "ocs_")
        do {
            try database.write { db in
                // Only live names are unique (a partial index backs this): a revoked name may be reused.
                if try db.value(Bool.self, "SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL", [name]) == true {
                    throw TokenError.nameTaken(name)
                }
                try db.execute(
                    "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                    [name, role.rawValue, Self.hash(secret), DatabaseTimestamp(Date())]
                )
                try AuditLog.append(AuditEntry(context: context, action: "token.create", ruleID: nil, revision: nil, outcome: "ok: \(name) (\(role.rawValue))"), in: db)
            }
        } catch let error as TokenError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
        return secret
    }

    /// Live tokens by name; with `includingRevoked`, revoked ones too (a reused name, oldest first).
    /// The command line and the API both list through here, so they always show the same set.
    public func list(includingRevoked: Bool = false) throws -> [APIToken] {
        let condition = includingRevoked ? "" : "WHERE revoked_at IS NULL"
        return try database.read { db in
            try db.records(APIToken.self, "SELECT name, role, created_at, revoked_at FROM api_tokens \(condition) ORDER BY name, id")
        }
    }

    /// Revokes a live token; it stops working on the next request.
    public func revoke(name: String, context: ChangeContext) throws(TokenError) {
        do {
            try database.write { db in
                let revoked = try db.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", [DatabaseTimestamp(Date()), name])
                guard revoked == 1 else { throw TokenError.notFound(name) }
                try AuditLog.append(AuditEntry(context: context, action: "token.revoke", ruleID: nil, revision: nil, outcome: "ok: \(name)"), in: db)
            }
        } catch let error as TokenError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// The live token matching `secret`, if any.
    public func authenticate(_ secret: String) throws -> APIToken? {
        try database.read { db in try Self.liveToken(matching: secret, in: db)?.token }
    }

    /// The live token whose secret this is, with its row id: every live hash is compared in full,
    /// match or not, so the time taken says nothing about which token matched or how closely.
    static func liveToken(matching secret: String, in db: any SQLTransaction) throws -> (id: Int64, token: APIToken)? {
        let presented = hash(secret)
        var match: (id: Int64, token: APIToken)?
        for row in try db.rows("SELECT id, name, role, token_hash, created_at, revoked_at FROM api_tokens WHERE revoked_at IS NULL") {
            let stored: Data = try row["token_hash"]
            if constantTimeEqual(stored, presented) {
                match = (try row["id"], try APIToken(row: row))
            }
        }
        return match
    }

    static func hash(_ secret: String) -> Data {
        Secret.digest(secret)
    }
}

/// Why a token operation failed.
public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case nameTaken(String)
    case notFound(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidName(let name): "'\(name.prefix(80))' is not a valid token name: use 1 to 64 of A-Z a-z 0-9 . _ -"
        case .nameTaken(let name): "a live token named '\(name)' exists already: revoke it or choose another name"
        case .notFound(let name): "no live token named '\(name.prefix(80))': `ocs tokens list` shows them"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}

extension APIToken: SQLRowDecodable {
    /// A row of `api_tokens`; a role this binary does not know reads as the one that may least, reporter (which reads nothing).
    public init(row: SQLRow) throws {
        self.init(name: try row["name"], role: Role(rawValue: try row["role"]) ?? .reporter, createdAt: try row["created_at"], revokedAt: try row["revoked_at"])
    }
}
