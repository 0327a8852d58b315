import OCSDomain
import Yams

/// Decodes one rule document, a YAML rule file or a JSON request body, and validates it,
/// reporting every problem at once: for a file each with its line, for a body each with its field.
public struct RuleDocumentDecoder: Sendable {
    public let validator: RuleValidator

    public init(validator: RuleValidator = RuleValidator()) {
        self.validator = validator
    }

    /// A decoded rule and the line of its `id`, for problems found later across a set of files.
    public struct Decoded: Sendable {
        public let rule: Mitigation
        public let idLine: Int
        /// Targeting that can match nothing: reported, not refused, until the rule is published.
        public let warnings: [RuleFileProblem]
    }

    /// The rule in the YAML `text`, or every problem found; `file` names the source in problems.
    public func decode(_ text: String, file: String) -> Result<Decoded, RuleFilesInvalid> {
        func refuse(line: Int, field: String = "", _ message: String) -> Result<Decoded, RuleFilesInvalid> {
            .failure(RuleFilesInvalid(problems: [RuleFileProblem(file: file, line: line, field: field, message: message)]))
        }
        if let refusal = YAMLPreflight.check(text) {
            return refuse(line: refusal.line, refusal.message)
        }
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                return refuse(line: 1, "the file holds no rule: expected a mapping with id, description and actions")
            }
            node = composed
        } catch let error as YamlError {
            let problem = Self.problem(from: error, file: file)
            return refuse(line: problem.line, problem.message)
        } catch {
            return refuse(line: 1, "\(error)")
        }
        let tree = Self.tree(node)
        switch RuleTreeDecoder.decode(tree, validator: validator) {
        case .success(let decoded):
            let warnings = decoded.warnings.map {
                RuleFileProblem(file: file, line: $0.line ?? 1, field: $0.problem.field, message: $0.problem.message)
            }
            return .success(Decoded(rule: decoded.rule, idLine: tree.line(of: Mitigation.CodingKeys.id.stringValue) ?? 1, warnings: warnings))
        case .failure(let problems):
            return .failure(RuleFilesInvalid(problems: problems.all.map {
                RuleFileProblem(file: file, line: $0.line ?? 1, field: $0.problem.field, message: $0.problem.message)
            }))
        }
    }

    /// Why a JSON rule body was refused.
    public enum BodyRefusal: Error, Sendable {
        /// Larger than `RuleLimits.documentSize` bytes.
        case tooLarge(size: Int)
        /// Not JSON at all.
        case malformed
        /// JSON, but not a valid rule: every problem, by field.
        case invalid([RuleProblem])
    }

    /// The rule in a JSON body, or why not. JSON types are kept: `null`, numbers and booleans
    /// never pass for text.
    public func decode(json body: [UInt8]) -> Result<Mitigation, BodyRefusal> {
        if body.count > RuleLimits.documentSize { return .failure(.tooLarge(size: body.count)) }
        do throws(JSONValue.Refusal) {
            return decode(json: try JSONValue.parse(body, maximumDepth: RuleLimits.documentDepth))
        } catch .tooDeep {
            return .failure(.invalid([RuleProblem(field: "", message: "the body nests more than \(RuleLimits.documentDepth) levels deep: a rule needs five")]))
        } catch {
            return .failure(.malformed)
        }
    }

    /// The rule in a JSON value already parsed.
    public func decode(json value: JSONValue) -> Result<Mitigation, BodyRefusal> {
        RuleTreeDecoder.decode(JSONTree.node(value), validator: validator).map(\.rule).mapError { BodyRefusal.invalid($0.all.map(\.problem)) }
    }

    /// The neutral tree of a composed YAML document, with each scalar's resolved YAML type.
    static func tree(_ node: Node) -> RuleNode {
        switch node {
        case .scalar(let scalar):
            let value: RuleNode.Scalar = switch Resolver.default.resolveTag(of: node) {
            case .null: .null
            case .bool: .other(kind: "boolean", source: scalar.string)
            case .int, .float: .other(kind: "number", source: scalar.string)
            default: .text(scalar.string)
            }
            return RuleNode(.scalar(value), line: scalar.mark?.line)
        case .mapping(let mapping):
            return RuleNode(.mapping(mapping.map { key, value in
                RuleNode.Entry(name: key.scalar?.string, line: key.mark?.line, value: tree(value))
            }), line: mapping.mark?.line)
        case .sequence(let sequence):
            return RuleNode(.sequence(sequence.map(tree)), line: sequence.mark?.line)
        case .alias(let alias):
            // The composer resolves aliases, and the preflight refuses them before it runs.
            return RuleNode(.scalar(.other(kind: "alias", source: "*\(alias.anchor)")), line: alias.mark?.line)
        }
    }

    private static func problem(from error: YamlError, file: String) -> RuleFileProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return RuleFileProblem(file: file, line: mark.line, field: "", message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "'\($0.prefix(64))'" }.joined(separator: ", ")
            return RuleFileProblem(file: file, line: context.mark.line, field: "", message: "a mapping gives \(names) more than once: keep one")
        default:
            return RuleFileProblem(file: file, line: 1, field: "", message: "YAML: \(error)")
        }
    }
}

