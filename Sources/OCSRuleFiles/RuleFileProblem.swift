/// A problem in a rule file, reported as `file:line: message`.
public struct RuleFileProblem: Hashable, Sendable, Error, CustomStringConvertible {
    public let file: String
    public let line: Int
    /// The field path (`actions[0].rule.pattern`), empty for problems with the whole file.
    public let field: String
    public let message: String

    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        "\(file):\(line): " + (field.isEmpty ? message : "\(field): \(message)")
    }
}

/// Rule files that failed validation; every problem found, in file and line order.
public struct RuleFilesInvalid: Error, Sendable, CustomStringConvertible {
    public let problems: [RuleFileProblem]

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
