import Foundation
import GRDB
import OCSDomain

// Bridges for stores still written on GRDB (DashboardSessionStore, CheckInStore) to the statics
// of the stores on the seam, and back. Delete this file once those are ported.

extension FleetStore {
    /// `hostsByBuild` inside a GRDB transaction.
    static func hostsByBuild(_ db: Database) throws -> [(build: String, hosts: Int)] {
        try hostsByBuild(GRDBTransaction(db: db))
    }
}

extension CheckInStore {
    /// A `hosts` row read through the seam, mapped as `host(_: Row)` maps one.
    static func host(_ row: SQLRow) throws -> HostState {
        let values = zip(row.columns.names, row.values).map { name, value -> (String, (any DatabaseValueConvertible)?) in
            switch value {
            case .null: (name, nil)
            case .integer(let integer): (name, integer)
            case .real(let real): (name, real)
            case .text(let text): (name, text)
            case .blob(let bytes): (name, Data(bytes))
            }
        }
        return host(Row(Dictionary(values, uniquingKeysWith: { first, _ in first })))
    }
}
