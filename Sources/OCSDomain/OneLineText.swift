/// Text from outside (a query value, a path, a document) made safe to show or store as one line:
/// control and format characters and line and paragraph separators written as Swift escapes
/// (`\n`, `\t`, `\u{1B}`, `\u{2028}`), so an echoed value can neither break a line nor hide text.
public enum OneLineText {
    public static func escaping(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                result.append(contentsOf: scalar.escaped(asASCII: true).unicodeScalars)
            default:
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// Escaped, then cut to `maximumBytes` of UTF-8 with `…(N more bytes)`.
    public static func escaping(_ text: String, maximumBytes: Int) -> String {
        let escaped = escaping(text)
        let total = escaped.utf8.count
        guard total > maximumBytes else { return escaped }
        var kept = ""
        var bytes = 0
        for character in escaped {
            let size = character.utf8.count
            guard bytes + size <= max(0, maximumBytes - 24) else { break }
            kept.append(character)
            bytes += size
        }
        return kept + "…(\(total - bytes) more bytes)"
    }
}
