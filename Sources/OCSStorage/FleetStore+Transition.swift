import GRDB
import OCSDomain

// TEMPORARY, only so this branch builds while FleetStore is ported onto the SQL seam by another
// branch: FleetStore's seam version of `hostsByBuild`, and the GRDB-side forms of the
// CheckInStore statics FleetStore calls before its port. Delete this file on merge.

extension FleetStore {
    /// Hosts per reported build, as `hostsByBuild(_: Database)` reads them (same SQL).
    static func hostsByBuild(_ db: any SQLTransaction) throws -> [(build: String, hosts: Int)] {
        try db.rows("SELECT build, COUNT(*) AS hosts FROM hosts WHERE build IS NOT NULL GROUP BY build")
            .map { (build: try $0["build"], hosts: try $0["hosts"]) }
    }
}

extension CheckInStore {
    static func host(_ row: Row) throws -> HostState {
        try host(SQLRow(columns: SQLRow.Columns(Array(row.columnNames)), values: row.databaseValues.map(GRDBTransaction.value)))
    }

    static func hostCount(_ db: Database) throws -> Int {
        try hostCount(GRDBTransaction(db: db))
    }
}
