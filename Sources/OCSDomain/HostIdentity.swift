/// How hosts name themselves in a poll: the forms the feed accepts and the API looks hosts up by.
public enum HostIdentity {
    /// Longest host name, in bytes (every poll parameter has this bound).
    public static let maximumNameLength = 256

    /// A host name: 1 to 256 ASCII letters, digits, `.`, `-` and `_`.
    /// Inlinable and judged on bytes (every identified poll checks one): a name is ASCII, so its
    /// bytes are its characters.
    @inlinable
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && bytes.count <= maximumNameLength && bytes.allSatisfy(isNameByte)
    }

    /// ASCII letters and digits, `.`, `-` and `_`.
    @usableFromInline
    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// A GUID, with or without braces, in any case, as stored: lower-case without braces. Nil
    /// when `text` is not 8-4-4-4-12 hex digits.
    public static func normalizedGUID(_ text: some StringProtocol) -> String? {
        var bytes = Array(text.utf8)
        if bytes.count == 38, bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") {
            bytes = Array(bytes.dropFirst().dropLast())
        }
        // 8-4-4-4-12 hex digits: dashes at 8, 13, 18 and 23.
        guard bytes.count == 36 else { return nil }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
            } else if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F") {
                bytes[index] = byte + 0x20
            } else {
                guard (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) else {
                    return nil
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
