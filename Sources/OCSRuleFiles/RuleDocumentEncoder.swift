import OCSDomain
import Yams

/// Writes a rule as a YAML rule file that decodes back to the same rule.
public struct RuleDocumentEncoder: Sendable {
    public init() {}

    public func yaml(for rule: Mitigation) throws -> String {
        var options = YAMLEncoder.Options()
        options.sortKeys = false
        options.width = -1
        let encoder = YAMLEncoder()
        encoder.options = options
        return try encoder.encode(rule)
    }
}
