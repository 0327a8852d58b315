import Foundation
import OCSDomain

/// The certificate a database's feed is signed with, as recorded on the first start.
public struct PinnedSigningIdentity: Sendable, Equatable {
    public let fingerprint: String
    public let subject: String
    public let recordedAt: Date
}

/// Facts about the server kept in its database: the signing certificate every host pins, and
/// a probe row that readiness checks write.
public struct ServerState: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// The pinned signing certificate; nil before the first start.
    public func pinnedSigningIdentity() throws -> PinnedSigningIdentity? {
        try database.read { db in
            try db.record(PinnedSigningIdentity.self, "SELECT fingerprint, subject, recorded_at FROM signing_identity WHERE id = 1")
        }
    }

    /// Records `fingerprint` as the signing certificate: the first one, or a rotation (audited,
    /// with both fingerprints).
    public func pinSigningIdentity(fingerprint: String, subject: String, context: ChangeContext) throws {
        try database.write { db in
            let previous = try db.value(String.self, "SELECT fingerprint FROM signing_identity WHERE id = 1")
            guard previous != fingerprint else { return }
            try db.execute(
                """
                INSERT INTO signing_identity (id, fingerprint, subject, recorded_at) VALUES (1, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, subject = excluded.subject, recorded_at = excluded.recorded_at
                """,
                [fingerprint, subject, DatabaseTimestamp(Date())]
            )
            if let previous {
                try AuditLog.append(AuditEntry(
                    context: context, action: "signing.rotate", ruleID: nil, revision: nil,
                    outcome: "ok: \(previous) -> \(fingerprint)"
                ), in: db)
            }
        }
    }

    /// Which check-ins a server on this database records when not told (`ocs serve --check-ins`):
    /// `any` for a database whose hosts checked in before enrollment existed (migration 0019
    /// recorded it), so an upgrade does not silently stop a fleet's check-ins; else `enrolled`.
    public func checkInAcceptance() throws -> CheckInAcceptance {
        try database.read { db in
            try db.value(String.self, "SELECT value FROM policies WHERE name = 'check-ins'").flatMap(CheckInAcceptance.init(rawValue:)) ?? .enrolled
        }
    }

    /// Polling hosts that did not enroll: with `--check-ins enrolled` their polls are no longer recorded.
    public func unverifiedHostCount() throws -> Int {
        try database.read { db in try db.value(Int.self, "SELECT COUNT(*) FROM hosts WHERE credential_hash IS NULL AND source = 'poll'") ?? 0 }
    }

    /// Claims this period of `job` for the caller: true when no server sharing the database
    /// started it in the last `interval` (less a tenth, so a server whose timer runs a little
    /// early still finds its period due), recording now as its start. Servers that wake in one
    /// period share one write lock, so exactly one of them gets true.
    public func claim(job: String, every interval: TimeInterval, at now: Date = Date()) throws -> Bool {
        try database.write { db in
            let started = DatabaseTimestamp(now)
            let due = DatabaseTimestamp(now.addingTimeInterval(-interval * 0.9))
            if try db.execute("UPDATE job_runs SET started_at = ? WHERE job = ? AND started_at <= ?", [started, job, due]) == 1 {
                return true
            }
            guard try db.value(Int.self, "SELECT 1 FROM job_runs WHERE job = ?", [job]) == nil else { return false }
            try db.execute("INSERT INTO job_runs (job, started_at) VALUES (?, ?)", [job, started])
            return true
        }
    }

    /// Reads the rule-set serial and rewrites the probe row: proof that the database answers
    /// reads and takes writes. Throws what the database reports.
    public func probe() throws {
        _ = try database.read { db in try db.value(Int64.self, RuleStore.selectSerial) }
        _ = try database.write { db in
            try db.execute("UPDATE readiness_probe SET checked_at = ? WHERE id = 1", [DatabaseTimestamp(Date())])
        }
    }
}

extension PinnedSigningIdentity: SQLRowDecodable {
    /// The row of `signing_identity`.
    public init(row: SQLRow) throws {
        self.init(fingerprint: try row["fingerprint"], subject: try row["subject"], recordedAt: try row["recorded_at"])
    }
}
