/// Comma-separated values for people who open them in a spreadsheet (RFC 4180): every field
/// quoted, quotes doubled, and a field a spreadsheet would read as a formula (`=`, `+`, `-`, `@`,
/// tab, CR) prefixed with `'`, since host names and builds come from polls anyone may send.
public enum CSV {
    public static func line(_ fields: [String]) -> String {
        fields.map { field in
            var text = field
            if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }
}
