import Foundation
import GRDB

/// A `Date` stored as GRDB stores dates (`yyyy-MM-dd HH:mm:ss.SSS`, UTC), formatted without a
/// `DateFormatter`: every check-in writes two, and ICU formatting showed up in profiles.
struct DatabaseTimestamp: DatabaseValueConvertible {
    let date: Date

    init(_ date: Date) {
        self.date = date
    }

    var databaseValue: DatabaseValue {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds.quotientAndRemainder(dividingBy: 1000).quotient)
        var remainder = Int(milliseconds - Int64(seconds) * 1000)
        if remainder < 0 {
            seconds -= 1
            remainder += 1000
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let text = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(remainder), 3))"
        return text.databaseValue
    }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> DatabaseTimestamp? {
        Date.fromDatabaseValue(dbValue).map(DatabaseTimestamp.init)
    }
}
