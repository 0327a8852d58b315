/// HTML text that is safe to send: literal parts come from this module's source, and every value
/// interpolated into it is escaped, unless it is itself `HTML`. Values from outside (host names,
/// User-Agent strings, rule text) can therefore only ever appear as text.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String

    public init(stringLiteral value: String) {
        text = value
    }

    public init(stringInterpolation: Interpolation) {
        text = stringInterpolation.text
    }

    private init(trusted: String) {
        text = trusted
    }

    public var description: String { text }

    public static let empty: HTML = ""

    /// Joins fragments.
    public static func join(_ parts: some Sequence<HTML>, separator: HTML = "") -> HTML {
        HTML(trusted: parts.map(\.text).joined(separator: separator.text))
    }

    public static func + (lhs: HTML, rhs: HTML) -> HTML {
        HTML(trusted: lhs.text + rhs.text)
    }

    /// `text` escaped for an element's content or a quoted attribute value.
    public static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            case "\0": output += "\u{FFFD}"
            default: output.unicodeScalars.append(character)
            }
        }
        return output
    }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity * 2)
        }

        public mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        /// Already safe: appended as is.
        public mutating func appendInterpolation(_ html: HTML) {
            text += html.text
        }

        public mutating func appendInterpolation(_ parts: [HTML]) {
            for part in parts { text += part.text }
        }

        /// Anything else is text: escaped.
        public mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            text += HTML.escape(value.description)
        }

        public mutating func appendInterpolation(_ value: String?) {
            text += HTML.escape(value ?? "")
        }
    }
}

/// Builds `/ui/...` links: path segments and query values percent-encoded, so a host name or rule
/// id can never leave its place in the URL (and the result is escaped again where it is used).
public enum UILink {
    public static let root = "/ui/"

    public static func path(_ segments: String..., query: [(String, String?)] = []) -> String {
        var link = "/ui/" + segments.map(encode).joined(separator: "/")
        let items = query.compactMap { name, value in value.map { "\(encode(name))=\(encode($0))" } }
        if !items.isEmpty { link += "?" + items.joined(separator: "&") }
        return link
    }

    /// Percent-encodes all but unreserved characters (RFC 3986).
    public static func encode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
