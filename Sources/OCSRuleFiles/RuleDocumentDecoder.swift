import OCSDomain
import Yams

/// Decodes one rule document (YAML, or JSON, which YAML contains) and validates it, naming
/// the line of every problem.
public struct RuleDocumentDecoder: Sendable {
    public let validator: RuleValidator

    public init(validator: RuleValidator = RuleValidator()) {
        self.validator = validator
    }

    /// A decoded rule and the line of its `id`, for problems found later across a set of files.
    public struct Decoded: Sendable {
        public let rule: Mitigation
        public let idLine: Int
    }

    /// The rule in `text`, or every problem found; `file` names the source in problems.
    public func decode(_ text: String, file: String) -> Result<Decoded, RuleFilesInvalid> {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                return .failure(RuleFilesInvalid(problems: [
                    RuleFileProblem(file: file, line: 1, field: "", message: "the file holds no rule: expected a mapping with id, description and actions"),
                ]))
            }
            node = composed
        } catch let error as YamlError {
            return .failure(RuleFilesInvalid(problems: [Self.problem(from: error, file: file)]))
        } catch {
            return .failure(RuleFilesInvalid(problems: [RuleFileProblem(file: file, line: 1, field: "", message: "\(error)")]))
        }

        let rule: Mitigation
        do {
            rule = try YAMLDecoder().decode(Mitigation.self, from: node)
        } catch let error as DecodingError {
            let (path, message) = Self.describe(error)
            let field = FieldPath(path)
            return .failure(RuleFilesInvalid(problems: [
                RuleFileProblem(file: file, line: field.line(in: node), field: field.text, message: message),
            ]))
        } catch {
            return .failure(RuleFilesInvalid(problems: [RuleFileProblem(file: file, line: node.mark?.line ?? 1, field: "", message: "\(error)")]))
        }

        let problems = validator.problems(in: rule).map { problem in
            let field = FieldPath(parsing: problem.field)
            return RuleFileProblem(file: file, line: field.line(in: node), field: problem.field, message: problem.message)
        }
        guard problems.isEmpty else { return .failure(RuleFilesInvalid(problems: problems)) }
        return .success(Decoded(rule: rule, idLine: FieldPath(parsing: "id").line(in: node)))
    }

    private static func problem(from error: YamlError, file: String) -> RuleFileProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return RuleFileProblem(file: file, line: mark.line, field: "", message: "YAML syntax: \(problem)")
        default:
            return RuleFileProblem(file: file, line: 1, field: "", message: "YAML: \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> ([any CodingKey], String) {
        switch error {
        case .keyNotFound(let key, let context):
            return (context.codingPath, "missing required field '\(key.stringValue)'")
        case .valueNotFound(_, let context):
            return (context.codingPath, "must have a value")
        case .typeMismatch(let type, let context):
            return (context.codingPath, "expected \(describe(type))")
        case .dataCorrupted(let context):
            return (context.codingPath, context.debugDescription)
        @unknown default:
            return ([], "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        let name = String(describing: type)
        if type == String.self { return "text" }
        if name.hasPrefix("Array") { return "a list" }
        if name.hasPrefix("Dictionary") || name.contains("Keyed") { return "a mapping" }
        return name
    }
}

/// A path to a field, e.g. `actions[0].rule.pattern`, as coding keys and as text.
struct FieldPath {
    enum Component: Equatable {
        case key(String)
        case index(Int)
    }

    let components: [Component]

    init(_ codingPath: [any CodingKey]) {
        components = codingPath.map { key in
            if let index = key.intValue { .index(index) } else { .key(key.stringValue) }
        }
    }

    /// Parses the text form RuleValidator uses.
    init(parsing text: String) {
        var components: [Component] = []
        for segment in text.split(separator: ".") {
            var rest = segment[...]
            if let bracket = rest.firstIndex(of: "[") {
                components.append(.key(String(rest[..<bracket])))
                rest = rest[bracket...]
                while rest.first == "[", let close = rest.firstIndex(of: "]") {
                    if let index = Int(rest[rest.index(after: rest.startIndex)..<close]) { components.append(.index(index)) }
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                components.append(.key(String(rest)))
            }
        }
        self.components = components
    }

    var text: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// The line of the deepest node on the path that exists in the document.
    func line(in root: Node) -> Int {
        var node = root
        var line = root.mark?.line ?? 1
        for component in components {
            let next: Node?
            switch component {
            case .key(let key):
                next = node.mapping?.first { $0.key.string == key }.map { pair in
                    line = pair.key.mark?.line ?? line
                    return pair.value
                }
            case .index(let index):
                let items = node.sequence.map(Array.init) ?? []
                next = items.indices.contains(index) ? items[index] : nil
                if let next { line = next.mark?.line ?? line }
            }
            guard let next else { break }
            node = next
        }
        return line
    }
}
