import Foundation
import OCSDomain

/// A signed-in dashboard browser: who it acts as (the API token it signed in with, and that
/// token's role) and the CSRF token its forms carry.
public struct DashboardSession: Sendable, Equatable {
    public let id: Int64
    /// The name of the API token, the actor in the audit trail.
    public let actor: String
    public let role: Role
    /// Per session, random; every state-changing form sends it back.
    public let csrf: String
    public let expiresAt: Date
}

/// Dashboard sessions (migration 0008). The cookie secret is random and only its SHA-256 is
/// stored; a session ends 8 hours after sign-in, on sign-out, or when its API token is revoked.
public struct DashboardSessionStore: Sendable {
    public static let lifetime: TimeInterval = 8 * 3600
    public static let signInAction = "dashboard.signin"

    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// Opens a session for the live API token `apiSecret`: its cookie secret and the session, or
    /// nil when the token is not a live one, or is a reporter's (which may read nothing). Expired
    /// sessions are removed on the way.
    public func open(apiSecret: String, remoteAddress: String?, now: Date = Date()) throws -> (secret: String, session: DashboardSession)? {
        let secret = Self.randomToken()
        let csrf = Self.randomToken()
        let expires = now.addingTimeInterval(Self.lifetime)
        return try database.write { db in
            try db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", [DatabaseTimestamp(now)])
            guard let (tokenID, token) = try TokenStore.liveToken(matching: apiSecret, in: db), token.role >= .reader else { return nil }
            let id = try db.insert(
                "INSERT INTO dashboard_sessions (secret_hash, token_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                [TokenStore.hash(secret), tokenID, csrf, DatabaseTimestamp(now), DatabaseTimestamp(expires)]
            )
            let session = DashboardSession(id: id, actor: token.name, role: token.role, csrf: csrf, expiresAt: expires)
            try AuditLog.append(AuditEntry(
                time: now, actor: token.name, action: Self.signInAction, ruleID: nil, revision: nil,
                remoteAddress: remoteAddress, outcome: "ok: session until \(ISO8601DateFormatter().string(from: expires))"
            ), in: db)
            return (secret, session)
        }
    }

    /// The live session whose cookie secret this is: not expired, its token not revoked.
    public func session(secret: String, now: Date = Date()) throws -> DashboardSession? {
        guard !secret.isEmpty, secret.utf8.count <= 128 else { return nil }
        return try database.read { db in
            try db.record(
                DashboardSession.self,
                """
                SELECT s.id, s.csrf, s.expires_at, t.name, t.role FROM dashboard_sessions s
                JOIN api_tokens t ON t.id = s.token_id
                WHERE s.secret_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL AND t.role <> 'reporter'
                """,
                [TokenStore.hash(secret), DatabaseTimestamp(now)]
            )
        }
    }

    /// Ends the session with this cookie secret (sign-out); nothing if there is none.
    public func close(secret: String) throws {
        _ = try database.write { db in
            try db.execute("DELETE FROM dashboard_sessions WHERE secret_hash = ?", [TokenStore.hash(secret)])
        }
    }

    /// Sessions stored, live or not yet pruned.
    public func count() throws -> Int {
        try database.read { db in try db.value(Int.self, "SELECT COUNT(*) FROM dashboard_sessions") ?? 0 }
    }

    /// 32 random bytes, base64url: session secrets, CSRF tokens, the sign-in form's token.
    public static func randomToken() -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Which hosts a list shows: stale or not, a product, a CU (its catalog name, like `CU14`), a
/// name or serverId containing some text (case-insensitively).
public struct HostFilter: Sendable, Equatable {
    public var stale: Bool?
    public var product: ExchangeProduct?
    public var cumulativeUpdate: String?
    public var name: String?

    public init(stale: Bool? = nil, product: ExchangeProduct? = nil, cumulativeUpdate: String? = nil, name: String? = nil) {
        self.stale = stale
        self.product = product
        self.cumulativeUpdate = cumulativeUpdate
        self.name = name
    }
}

extension CheckInStore {
    /// Hosts by id, as `hosts(page:)` lists them, that pass `filter`. Product and CU are decided by
    /// the catalog for each distinct reported build (a few hundred), then matched by build.
    public func hosts(_ filter: HostFilter, staleSince: Date, catalog: BuildCatalog = .embedded, page: PageRequest = PageRequest()) throws -> Page<HostState> {
        let rows = try database.read { db in
            var sql = "SELECT * FROM hosts WHERE id > ?"
            var arguments: [(any SQLValueConvertible)?] = [page.cursor?.key ?? 0]
            switch filter.stale {
            case true?: sql += " AND last_seen < ?"; arguments.append(DatabaseTimestamp(staleSince))
            case false?: sql += " AND last_seen >= ?"; arguments.append(DatabaseTimestamp(staleSince))
            case nil: break
            }
            if filter.product != nil || filter.cumulativeUpdate != nil {
                let builds = try FleetStore.hostsByBuild(db).map(\.build).filter { text in
                    guard let build = try? ExchangeBuild(parsing: text), let product = ExchangeProduct(build: build) else { return false }
                    if let wanted = filter.product, wanted != product { return false }
                    if let wanted = filter.cumulativeUpdate, catalog.cumulativeUpdate(of: build.branch)?.cumulativeUpdate.lowercased() != wanted.lowercased() {
                        return false
                    }
                    return true
                }
                sql += " AND build IN (SELECT value FROM \(db.engine.jsonArrayElements("?")))"
                arguments.append("[" + builds.map { "\"\($0)\"" }.joined(separator: ",") + "]")
            }
            if let name = filter.name?.lowercased(), !name.isEmpty {
                let inName = db.engine.position(of: "?", in: "lower(server_name)")
                let inServerID = db.engine.position(of: "?", in: "lower(server_id)")
                sql += " AND (\(inName) > 0 OR \(inServerID) > 0)"
                arguments += [name, name]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments.append(page.limit + 1)
            return try db.records(HostState.self, sql, SQLArguments(arguments))
        }
        return Page(reading: rows, limit: page.limit, kind: .hosts, key: \.id)
    }
}

extension DashboardSession: SQLRowDecodable {
    /// A session joined with its token: its id, csrf and expires_at, the token's name and role.
    public init(row: SQLRow) throws {
        self.init(
            id: try row["id"], actor: try row["name"], role: Role(rawValue: try row["role"]) ?? .reporter, csrf: try row["csrf"], expiresAt: try row["expires_at"]
        )
    }
}
