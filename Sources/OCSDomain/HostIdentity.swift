/// How hosts name themselves in a poll: the forms the feed accepts and the API looks hosts up by.
public enum HostIdentity {
    /// Longest host name, in bytes (every poll parameter has this bound).
    public static let maximumNameLength = 256

    /// A host name: 1 to 256 ASCII letters, digits, `.`, `-` and `_`.
    public static func isValidName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.utf8.count <= maximumNameLength && name.unicodeScalars.allSatisfy(isNameCharacter)
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "." || scalar == "-" || scalar == "_")
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
