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
    public init(parsing text: some StringProtocol) throws(ExchangeBuildError) {
        let trimmed = text.trimmingWhitespace()
        let dotted: Substring
        if let adminForm = Self.dottedFromAdminForm(trimmed) {
            dotted = adminForm[...]
        } else {
            dotted = trimmed[...]
        }
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw ExchangeBuildError(input: String(text)) }
        var numbers: [UInt32] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 9, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = UInt32(part)
            else { throw ExchangeBuildError(input: String(text)) }
            numbers.append(number)
        }
        self.init(major: numbers[0], minor: numbers[1], build: numbers[2], revision: numbers[3])
    }

    /// `Version 15.2 (Build 1118.7)` → `15.2.1118.7`; nil when the text is not in that form.
    private static func dottedFromAdminForm(_ text: String) -> String? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 4,
              words[0].lowercased() == "version",
              words[2].lowercased() == "(build",
              words[3].hasSuffix(")")
        else { return nil }
        let majorMinor = words[1]
        let buildRevision = words[3].dropLast()
        guard majorMinor.split(separator: ".", omittingEmptySubsequences: false).count == 2,
              buildRevision.split(separator: ".", omittingEmptySubsequences: false).count == 2
        else { return nil }
        return "\(majorMinor).\(buildRevision)"
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

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
