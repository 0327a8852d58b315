import Foundation
import GRDB

/// A `Date` stored as GRDB stores dates (`yyyy-MM-dd HH:mm:ss.SSS`, UTC), formatted without a
/// `DateFormatter`: every check-in writes two, and ICU formatting showed up in profiles.
struct DatabaseTimestamp: DatabaseValueConvertible, SQLValueConvertible {
    let date: Date

    init(_ date: Date) {
        self.date = date
    }

    var databaseValue: DatabaseValue {
        formatted.map(\.databaseValue) ?? date.databaseValue
    }

    var sqlValue: SQLValue { .text(text) }

    init?(sqlValue value: SQLValue) {
        guard let date = Date(sqlValue: value) else { return nil }
        self.date = date
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

    /// The date `text` holds, as `text` writes it (`yyyy-MM-dd HH:mm:ss.SSS`, UTC; a `T` for the
    /// space, the fraction or the seconds left out, and a time zone after the time, `Z` or
    /// `+HH:MM` or `-HH:MM`, are read too, as GRDB reads them); nil for anything else.
    static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ width: Int) -> Int32? {
            guard start + width <= bytes.count else { return nil }
            var value: Int32 = 0
            for byte in bytes[start..<start + width] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func separator(_ index: Int, _ allowed: String) -> Bool {
            index < bytes.count && allowed.utf8.contains(bytes[index])
        }
        /// The time zone from `index` to the end, in seconds east of UTC; nil when there is none.
        func zone(_ index: Int) -> Int? {
            if index == bytes.count - 1, bytes[index] == UInt8(ascii: "Z") { return 0 }
            guard index + 6 == bytes.count, separator(index, "+-"), let hours = number(index + 1, 2), separator(index + 3, ":"),
                  let minutes = number(index + 4, 2)
            else { return nil }
            let seconds = Int(hours) * 3600 + Int(minutes) * 60
            return bytes[index] == UInt8(ascii: "-") ? -seconds : seconds
        }
        guard let year = number(0, 4), separator(4, "-"), let month = number(5, 2), separator(7, "-"), let day = number(8, 2) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        var milliseconds = 0.0
        var offset = 0
        if bytes.count > 10 {
            guard separator(10, " T"), let hour = number(11, 2), separator(13, ":"), let minute = number(14, 2) else { return nil }
            parts.tm_hour = hour
            parts.tm_min = minute
            if let east = zone(16) {
                offset = east
            } else if bytes.count > 16 {
                guard separator(16, ":"), let second = number(17, 2) else { return nil }
                parts.tm_sec = second
                if let east = zone(19) {
                    offset = east
                } else if bytes.count > 19 {
                    guard separator(19, "."), bytes.count > 20 else { return nil }
                    var index = 20
                    var scale = 100.0
                    while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                        milliseconds += Double(bytes[index] - UInt8(ascii: "0")) * scale
                        scale /= 10
                        index += 1
                    }
                    if index < bytes.count {
                        guard index > 20, let east = zone(index) else { return nil }
                        offset = east
                    }
                }
            }
        }
        guard (1...12).contains(month), (1...31).contains(day), parts.tm_hour < 24, parts.tm_min < 60, parts.tm_sec < 61 else { return nil }
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds - offset) + milliseconds / 1000)
    }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> DatabaseTimestamp? {
        Date.fromDatabaseValue(dbValue).map(DatabaseTimestamp.init)
    }
}
