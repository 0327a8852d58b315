import Foundation

extension CheckInStore {
    /// Deletes history entries that changed before `cutoff`, except each host's newest one (what
    /// it reports now, and since when). Works through the history oldest first in short
    /// transactions of at most `batchSize` entries each, so polls are never held up for long.
    /// Returns how many entries it deleted.
    @discardableResult
    public func pruneHistory(before cutoff: Date, batchSize: Int = 500) throws -> Int {
        precondition(batchSize > 0)
        var after = Int64.min
        var deleted = 0
        while true {
            let batch = try database.write { db -> (deleted: Int, last: Int64, done: Bool) in
                // The batch: the next `batchSize` entries by id, which follows time.
                let window = try db.row(
                    """
                    SELECT max(id) AS last, count(*) AS entries, max(CASE WHEN changed_at >= ? THEN 1 ELSE 0 END) AS reached_cutoff
                    FROM (SELECT id, changed_at FROM host_history WHERE id > ? ORDER BY id LIMIT ?) batch
                    """,
                    [DatabaseTimestamp(cutoff), after, batchSize]
                )
                guard let window, let last: Int64 = try window["last"] else { return (0, after, true) }
                let deleted = try db.execute("""
                    DELETE FROM host_history WHERE id IN (
                        SELECT id FROM host_history older
                        WHERE id > ? AND id <= ? AND changed_at < ?
                          AND EXISTS (SELECT 1 FROM host_history newer WHERE newer.host_id = older.host_id AND newer.id > older.id))
                    """, [after, last, DatabaseTimestamp(cutoff)])
                let entries: Int? = try window["entries"]
                let reachedCutoff: Bool? = try window["reached_cutoff"]
                let done = (entries ?? 0) < batchSize || (reachedCutoff ?? false)
                return (deleted, last, done)
            }
            deleted += batch.deleted
            if batch.done { return deleted }
            after = batch.last
        }
    }

    /// Forgets hosts that have not polled since `cutoff`, with their history, in short
    /// transactions of at most `batchSize` hosts (oldest poll first). A forgotten host that polls
    /// again is a new host. Enrolled hosts are kept (an admin enrolled them; `ocs hosts forget`
    /// removes one): a verified host that went quiet is a question for the team, not clutter.
    /// Returns how many hosts it forgot.
    @discardableResult
    public func forgetHosts(lastSeenBefore cutoff: Date, batchSize: Int = 200) throws -> Int {
        precondition(batchSize > 0)
        var forgotten = 0
        while true {
            let count = try database.write { db -> Int in
                let ids = try db.values(
                    Int64.self, "SELECT id FROM hosts WHERE last_seen < ? AND credential_hash IS NULL ORDER BY last_seen LIMIT ?",
                    [DatabaseTimestamp(cutoff), batchSize]
                )
                guard !ids.isEmpty else { return 0 }
                let list = "[" + ids.map(String.init).joined(separator: ",") + "]"
                // The elements are text on PostgreSQL: cast to compare them with ids.
                let listed = "SELECT CAST(value AS BIGINT) FROM \(db.engine.jsonArrayElements("?"))"
                try db.execute("DELETE FROM host_history WHERE host_id IN (\(listed))", [list])
                try db.execute("DELETE FROM hosts WHERE id IN (\(listed))", [list])
                return ids.count
            }
            forgotten += count
            if count < batchSize { return forgotten }
        }
    }
}
