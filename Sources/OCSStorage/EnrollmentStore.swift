import Foundation
import OCSDomain

/// Enrollment of hosts: one-time tokens an admin hands out, exchanged by an agent for a
/// credential bound to its serverId. A host with a credential is verified: only polls that carry
/// it change the host (see `CheckInStore`). Tokens and credentials are stored as SHA-256 digests.
public struct EnrollmentStore: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// Most tokens made at once, and the longest a token may wait to be used.
    public static let maximumBatch = 1000
    public static let maximumValidity: TimeInterval = 30 * 86400

    /// Makes `count` one-time tokens valid for `validity` seconds and returns their secrets, the
    /// only time they are available; audited as one entry.
    public func createTokens(count: Int, validFor validity: TimeInterval, context: ChangeContext, now: Date = Date()) throws(EnrollmentError) -> EnrollmentTokens {
        guard (1...Self.maximumBatch).contains(count) else { throw .invalidCount(count) }
        guard validity >= 60, validity <= Self.maximumValidity else { throw .invalidValidity(validity) }
        let secrets = (0..<count).map { _ in Secret.make(prefix: Self.tokenPrefix) }
        let expires = now.addingTimeInterval(validity)
        do {
            let ids = try database.write { db -> [Int64] in
                var ids: [Int64] = []
                for secret in secrets {
                    ids.append(try db.insert(
                        "INSERT INTO enrollment_tokens (token_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?) RETURNING id",
                        [Secret.hexDigest(secret), DatabaseTimestamp(now), context.actor, DatabaseTimestamp(expires)]
                    ))
                }
                let range = ids.count == 1 ? "\(ids[0])" : "\(ids[0])-\(ids[ids.count - 1])"
                try AuditLog.append(AuditEntry(
                    time: now, context: context, action: "enrollment.create", ruleID: nil, revision: nil,
                    outcome: "ok: \(count) token\(count == 1 ? "" : "s") (\(range)), expire \(DatabaseTimestamp(expires).text) UTC"
                ), in: db)
                return ids
            }
            return EnrollmentTokens(secrets: secrets, firstID: ids[0], expiresAt: expires)
        } catch {
            throw .storage("\(error)")
        }
    }

    /// Exchanges an unused, unexpired token for a credential bound to `serverID`: the host with
    /// that serverId (made if none has polled yet) takes the credential, replacing any earlier
    /// one. A host that enrolled before is re-enrolled, audited as such; an inventory host becomes
    /// a polling one (its agent's verified check-ins replace the reports). The token is used up in
    /// the same transaction.
    public func enroll(token: String, serverID: String, serverName: String?, remoteAddress: String?, now: Date = Date()) throws(EnrollmentError) -> Enrollment {
        guard token.hasPrefix(Self.tokenPrefix), token.utf8.count <= 128 else { throw .unknownToken }
        // Checked here too, not only by the endpoint: they are written to the audit trail.
        guard HostIdentity.normalizedGUID(serverID) == serverID else { throw .invalidServerID }
        if let serverName, !HostIdentity.isValidName(serverName) { throw .invalidName }
        let credential = Secret.make(prefix: Self.credentialPrefix)
        let time = DatabaseTimestamp(now)
        let digest = Secret.hexDigest(token)
        do {
            // Anyone can send tokens to /enroll: a token that cannot enroll is refused from a read,
            // so made-up ones never open a write transaction (on SQLite, the lock check-ins commit under).
            try database.read { db in _ = try Self.usableToken(digest, at: now, in: db) }
            return try database.write { db in
                // Again in the write: another enrollment may have used the token meanwhile.
                let tokenID = try Self.usableToken(digest, at: now, in: db)

                let existing = try db.row("SELECT id, credential_hash, enrolled_at FROM hosts WHERE server_id = ?", [serverID])
                let hostID: Int64
                if let existing {
                    hostID = try existing["id"]
                    try db.execute(
                        """
                        UPDATE hosts SET credential_hash = ?, enrolled_at = ?, server_name = coalesce(?, server_name), source = 'poll',
                            site = NULL, site_exported_at = NULL, site_verified = NULL WHERE id = ?
                        """,
                        [Secret.hexDigest(credential), time, serverName, hostID]
                    )
                } else {
                    hostID = try db.insert("""
                        INSERT INTO hosts (server_id, server_name, applied, blocked, remote_address, first_seen, last_seen, poll_count, credential_hash, enrolled_at)
                        VALUES (?, ?, '[]', '[]', ?, ?, ?, 0, ?, ?) RETURNING id
                        """, [serverID, serverName, remoteAddress, time, time, Secret.hexDigest(credential), time])
                }
                let reenrolled = try existing.map { try $0.value("enrolled_at") != .null } ?? false
                let replaced = try existing.map { try $0.value("credential_hash") != .null } ?? false
                try db.execute("UPDATE enrollment_tokens SET used_at = ?, used_by = ? WHERE id = ?", [time, hostID, tokenID])
                try AuditLog.append(AuditEntry(
                    time: now, actor: "enrollment-token-\(tokenID)", action: "host.enroll", ruleID: nil, revision: nil, remoteAddress: remoteAddress,
                    outcome: "ok: host \(hostID) \(serverName ?? "-") serverId \(serverID)\(reenrolled ? ", re-enrolled" : "")\(replaced ? ": its previous credential no longer works" : "")"
                ), in: db)
                return Enrollment(hostID: hostID, serverID: serverID, credential: credential, reenrolled: reenrolled)
            }
        } catch let error as EnrollmentError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// Revokes a host's credential: its polls stop counting as verified until it enrolls again.
    /// Audited, a refusal too.
    @discardableResult
    public func revoke(_ reference: HostReference, context: ChangeContext, now: Date = Date()) throws(HostChangeError) -> HostState {
        do {
            return try database.write { db in
                guard let host = try CheckInStore.host(reference, in: db) else { throw HostChangeError.notFound(reference.text) }
                guard host.verified else { throw HostChangeError.notEnrolled(reference.text) }
                try db.execute("UPDATE hosts SET credential_hash = NULL WHERE id = ?", [host.id])
                try AuditLog.append(AuditEntry(
                    time: now, context: context, action: Self.revokeAction, ruleID: nil, revision: nil,
                    outcome: "ok: host \(host.id) \(host.latest.serverName ?? "-") serverId \(host.latest.serverID ?? "-")"
                ), in: db)
                var revoked = host
                revoked.verified = false
                return revoked
            }
        } catch {
            let failure = (error as? HostChangeError) ?? .storage("\(error)")
            try? AuditLog(database: database).append(AuditEntry(
                time: now, context: context, action: Self.revokeAction, ruleID: nil, revision: nil, outcome: "refused: \(failure.description)"
            ))
            throw failure
        }
    }

    /// The id of the token with `digest` if it can still enroll, else why not.
    private static func usableToken(_ digest: String, at now: Date, in db: any SQLTransaction) throws -> Int64 {
        guard let row = try db.row("SELECT id, expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?", [digest]) else {
            throw EnrollmentError.unknownToken
        }
        let tokenID: Int64 = try row["id"]
        if let used: Date = try row["used_at"] { throw EnrollmentError.usedToken(tokenID, used) }
        let expires: Date = try row["expires_at"]
        guard expires > now else { throw EnrollmentError.expiredToken(tokenID, expires) }
        return tokenID
    }

    public static let revokeAction = "host.revoke"
    /// What enrollment tokens and host credentials start with, so either is recognised in a log or a leak scan.
    public static let tokenPrefix = "ocs-enroll_"
    public static let credentialPrefix = "ocs-host_"

    /// The digest a presented host credential is looked up by (`CheckIn.credentialDigest`).
    public static func credentialDigest(_ credential: String) -> String {
        Secret.hexDigest(credential)
    }
}

/// Tokens just made: their secrets (shown once), the first one's id (the rest follow in order)
/// and when they expire.
public struct EnrollmentTokens: Sendable, Equatable {
    public let secrets: [String]
    public let firstID: Int64
    public let expiresAt: Date
}

/// A host enrolled: the credential its polls carry from now on, shown this once.
public struct Enrollment: Sendable, Equatable {
    public let hostID: Int64
    public let serverID: String
    public let credential: String
    public let reenrolled: Bool
}

/// Why enrollment, or making its tokens, failed.
public enum EnrollmentError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidCount(Int)
    case invalidValidity(TimeInterval)
    case invalidServerID
    case invalidName
    case unknownToken
    case usedToken(Int64, Date)
    case expiredToken(Int64, Date)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidCount(let count): "\(count) tokens: make 1 to \(EnrollmentStore.maximumBatch) at once"
        case .invalidValidity(let seconds): "a validity of \(Int(seconds)) s: tokens are valid from 60 s to \(Int(EnrollmentStore.maximumValidity / 86400)) days"
        case .invalidServerID: "serverId must be a GUID (8-4-4-4-12 hex digits, braces optional): the Exchange server's own"
        case .invalidName: "server must be a host name: 1 to 255 letters, digits, '.', '-', '_'"
        case .unknownToken: "the enrollment token is not one this server made: ask an admin for one (ocs enrollment create)"
        case .usedToken(let id, let time): "enrollment token \(id) was used at \(DatabaseTimestamp(time).text) UTC: each enrolls one host; ask an admin for another"
        case .expiredToken(let id, let time): "enrollment token \(id) expired at \(DatabaseTimestamp(time).text) UTC: ask an admin for another"
        case .storage(let message): "the database failed: \(message)"
        }
    }
}
