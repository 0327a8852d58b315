extension StringProtocol {
    /// Whether this text is `lowercase` up to the case of ASCII letters (`Build` is `build`),
    /// without making a lower-cased copy: request paths and query names are compared on every poll.
    /// `lowercase` must be lower-case ASCII.
    /// Inlinable, so callers in other modules get it specialized for `String` and `Substring`.
    @inlinable
    public func equalsASCIICaseInsensitive(_ lowercase: String) -> Bool {
        // Native strings compare as two byte buffers; element by element through the views
        // (index arithmetic on every byte) cost a poll more than the rest of its query parsing.
        let contiguous = utf8.withContiguousStorageIfAvailable { bytes in
            lowercase.utf8.withContiguousStorageIfAvailable { expected in ASCIICase.equal(bytes, lowercase: expected) }
        }
        if case let equal?? = contiguous { return equal }
        let bytes = utf8
        guard bytes.count == lowercase.utf8.count else { return false }
        return bytes.elementsEqual(lowercase.utf8) { byte, expected in
            byte == expected || (byte >= 0x41 && byte <= 0x5A && byte + 0x20 == expected)
        }
    }

    /// Whether the two texts are equal up to the case of ASCII letters, without lower-cased
    /// copies: host names (ASCII by validation) are compared on every check-in.
    @inlinable
    public func equalsIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        let bytes = utf8
        guard bytes.count == other.utf8.count else { return false }
        return bytes.elementsEqual(other.utf8) { lhs, rhs in
            lhs == rhs || (lhs | 0x20 == rhs | 0x20 && (0x61...0x7A).contains(lhs | 0x20))
        }
    }
}

/// Comparisons of ASCII bytes up to case.
@usableFromInline
enum ASCIICase {
    /// Whether `bytes` are `lowercase` (lower-case ASCII) up to the case of ASCII letters.
    @inlinable
    static func equal(_ bytes: UnsafeBufferPointer<UInt8>, lowercase: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        for index in 0..<bytes.count {
            let byte = bytes[index], expected = lowercase[index]
            guard byte == expected || (byte >= 0x41 && byte <= 0x5A && byte &+ 0x20 == expected) else { return false }
        }
        return true
    }
}
