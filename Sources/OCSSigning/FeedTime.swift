import Foundation

/// The form of a feed's times, `issued` and `expires`: UTC to the second, `2026-11-24T06:00:00Z`.
public enum FeedTime {
    /// `date` in the feed's form, its fraction of a second dropped.
    public static func format(_ date: Date) -> String {
        date.formatted(style)
    }

    /// `date` to the millisecond, rounded, as a time stamp's time is shown: `2021-09-15T16:42:08.621Z`.
    /// (A date holds a binary fraction: .621 may be stored as .62099..., which a formatter truncates.)
    public static func formatMilliseconds(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        let seconds = (milliseconds / 1000).rounded(.down)
        let whole = format(Date(timeIntervalSince1970: seconds))
        return String(whole.dropLast()) + String(format: ".%03dZ", Int(milliseconds - seconds * 1000))
    }

    /// The time `text` names when it is exactly in the feed's form, else nil: a feed is signed by
    /// one program, so another spelling (an offset, a fraction, a lower-case `z`) is not its own.
    public static func parse(_ text: String) -> Date? {
        guard text.utf8.count == 20, let date = try? Date(text, strategy: style), format(date) == text else { return nil }
        return date
    }

    /// Foundation's ISO 8601 style writes exactly this form by default (UTC, `Z`, no fraction).
    private static let style = Date.ISO8601FormatStyle()
}
