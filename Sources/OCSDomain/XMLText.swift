/// Escaping for XML 1.0 in Canonical XML (C14N 1.0) form, so rendered text is data, never markup.
public enum XMLText {
    /// Escapes text content: `&`, `<`, `>` and carriage return, as C14N writes them.
    public static func escapeText(_ value: String) -> String {
        escape(value) { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\r": "&#xD;"
            default: nil
            }
        }
    }

    /// Escapes a double-quoted attribute value: `&`, `<`, `"` and tab, newline, carriage return,
    /// as C14N writes them (so a parser's attribute-value normalisation keeps them).
    public static func escapeAttribute(_ value: String) -> String {
        escape(value) { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case "\"": "&quot;"
            case "\t": "&#x9;"
            case "\n": "&#xA;"
            case "\r": "&#xD;"
            default: nil
            }
        }
    }

    private static func escape(_ value: String, _ reference: (Unicode.Scalar) -> String?) -> String {
        var output = ""
        output.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            if let replacement = reference(scalar) {
                output += replacement
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// XML 1.0 `Char`: tab, newline, carriage return and everything from U+0020 but U+FFFE and U+FFFF.
    public static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: true
        case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
