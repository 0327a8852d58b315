/// An Exchange build number `major.minor.build.revision`, ordered numerically part by part.
public struct ExchangeBuild: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: UInt32
    public let minor: UInt32
    public let build: UInt32
    public let revision: UInt32

    public init(major: UInt32, minor: UInt32, build: UInt32, revision: UInt32) {
        self.major = major
        self.minor = minor
        self.build = build
        self.revision = revision
    }

    /// Parses `15.2.1118.7` or the admin form `Version 15.2 (Build 1118.7)`.
    ///
    /// Every poll parses one, so this scans UTF-8 bytes rather than splitting strings.
    public init(parsing text: some StringProtocol) throws(ExchangeBuildError) {
        guard let parsed = Self.parse(Array(text.utf8)) else { throw ExchangeBuildError(input: String(text)) }
        self = parsed
    }

    /// The same for a `String`, the form a poll's query holds: a concrete overload, so callers in
    /// other modules do not read the bytes through the generic `StringProtocol` witnesses.
    public init(parsing text: String) throws(ExchangeBuildError) {
        guard let parsed = Self.parse(Array(text.utf8)) else { throw ExchangeBuildError(input: text) }
        self = parsed
    }

    private static func parse(_ bytes: [UInt8]) -> ExchangeBuild? {
        var scanner = ByteScanner(bytes)
        scanner.skipSpaces()
        let parts: [UInt32]?
        if scanner.consume(caseInsensitive: "version") {
            // Version 15.2 (Build 1118.7)
            scanner.skipSpaces()
            let majorMinor = scanner.dottedNumbers(count: 2)
            scanner.skipSpaces()
            let opened = scanner.consume(caseInsensitive: "(build")
            scanner.skipSpaces()
            let buildRevision = scanner.dottedNumbers(count: 2)
            let closed = scanner.consume(caseInsensitive: ")")
            if let majorMinor, let buildRevision, opened, closed {
                parts = majorMinor + buildRevision
            } else {
                parts = nil
            }
        } else {
            parts = scanner.dottedNumbers(count: 4)
        }
        scanner.skipSpaces()
        guard let parts, scanner.isAtEnd else { return nil }
        return ExchangeBuild(major: parts[0], minor: parts[1], build: parts[2], revision: parts[3])
    }

    /// The CU branch: every build sharing `major.minor.build`.
    public var branch: Branch { Branch(major: major, minor: minor, build: build) }

    public var description: String { "\(major).\(minor).\(build).\(revision)" }

    /// The form Exchange admin tools show: `Version 15.2 (Build 1118.7)`.
    public var adminForm: String { "Version \(major).\(minor) (Build \(build).\(revision))" }

    public static func < (lhs: ExchangeBuild, rhs: ExchangeBuild) -> Bool {
        (lhs.major, lhs.minor, lhs.build, lhs.revision) < (rhs.major, rhs.minor, rhs.build, rhs.revision)
    }

    /// A CU branch `major.minor.build`; security and hotfix updates raise only the revision.
    public struct Branch: Hashable, Comparable, Sendable, CustomStringConvertible {
        public let major: UInt32
        public let minor: UInt32
        public let build: UInt32

        public var description: String { "\(major).\(minor).\(build)" }

        public static func < (lhs: Branch, rhs: Branch) -> Bool {
            (lhs.major, lhs.minor, lhs.build) < (rhs.major, rhs.minor, rhs.build)
        }
    }
}

/// A build number that could not be parsed; the message names the input and the accepted forms.
public struct ExchangeBuildError: Error, Equatable, Sendable, CustomStringConvertible {
    public let input: String

    public var description: String {
        "invalid build '\(input.prefix(80))': expected four numbers like 15.2.1118.7 or the admin form 'Version 15.2 (Build 1118.7)'"
    }
}

extension ExchangeBuild: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Reads ASCII tokens from UTF-8 bytes, for build numbers.
private struct ByteScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { index == bytes.count }

    mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
    }

    /// Consumes `word` (ASCII, lower-case) in any case; leaves the position unchanged otherwise.
    mutating func consume(caseInsensitive word: StaticString) -> Bool {
        // A static string's bytes are read in place: polls parse a build each, no copy per word.
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count else { return false }
        for (offset, byte) in expected.enumerated() {
            let found = bytes[index + offset]
            let lowered = (found >= 0x41 && found <= 0x5A) ? found + 0x20 : found
            guard lowered == byte else { return false }
        }
        index += expected.count
        return true
    }

    /// `count` decimal numbers of at most nine digits each, joined by dots.
    mutating func dottedNumbers(count: Int) -> [UInt32]? {
        var numbers: [UInt32] = []
        numbers.reserveCapacity(count)
        for position in 0..<count {
            if position > 0 {
                guard index < bytes.count, bytes[index] == 0x2E else { return nil }
                index += 1
            }
            var value: UInt32 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, digits < 10 {
                value = value &* 10 &+ UInt32(bytes[index] - 0x30)
                digits += 1
                index += 1
            }
            guard (1...9).contains(digits) else { return nil }
            numbers.append(value)
        }
        return numbers
    }
}
