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
        formatted.map(\.databaseValue) ?? date.databaseValue
    }

    /// The text the database holds for this date.
    var text: String {
        formatted ?? String.fromDatabaseValue(date.databaseValue) ?? ""
    }

    /// The text for a four-digit year; nil for any other (never a poll's), which GRDB formats itself.
    private var formatted: String? {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds.quotientAndRemainder(dividingBy: 1000).quotient)
        var remainder = Int(milliseconds - Int64(seconds) * 1000)
        if remainder < 0 {
            seconds -= 1
            remainder += 1000
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Four-digit years only; any other (never a poll's) is left to GRDB's own formatting.
        guard (0...9999).contains(parts.tm_year + 1900) else { return nil }
        // Written digit by digit into the string's own storage: no interpolation or padding
        // strings per field.
        let fields: [(value: Int32, width: Int, separator: UInt8)] = [
            (parts.tm_year + 1900, 4, UInt8(ascii: "-")), (parts.tm_mon + 1, 2, UInt8(ascii: "-")), (parts.tm_mday, 2, UInt8(ascii: " ")),
            (parts.tm_hour, 2, UInt8(ascii: ":")), (parts.tm_min, 2, UInt8(ascii: ":")), (parts.tm_sec, 2, UInt8(ascii: ".")),
            (Int32(remainder), 3, 0),
        ]
        let text = String(unsafeUninitializedCapacity: 23) { buffer in
            var index = 0
            for field in fields {
                var value = field.value
                for position in stride(from: index + field.width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                index += field.width
                if field.separator != 0 {
                    buffer[index] = field.separator
                    index += 1
                }
            }
            return index
        }
        return text
    }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> DatabaseTimestamp? {
        Date.fromDatabaseValue(dbValue).map(DatabaseTimestamp.init)
    }
}
