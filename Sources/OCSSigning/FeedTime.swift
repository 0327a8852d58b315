import Foundation

/// The form of a feed's times, `issued` and `expires`: UTC to the second, `2026-11-24T06:00:00Z`.
public enum FeedTime {
    /// `date` in the feed's form, its fraction of a second dropped.
    public static func format(_ date: Date) -> String {
        date.formatted(style)
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
