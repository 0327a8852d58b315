import Foundation
import OCSDomain

/// Reads rule files from a file or a folder of `*.yaml` / `*.yml` files and validates them as a set.
public struct RuleFileSet: Sendable {
    /// A rule and the file it came from.
    public struct Entry: Sendable {
        public let file: String
        public let rule: Mitigation
        let idLine: Int
        /// What `RuleValidator.warnings` found: targeting that can match nothing.
        public let warnings: [RuleFileProblem]
    }

    public let entries: [Entry]

    /// Every file's warnings, in file and line order.
    public var warnings: [RuleFileProblem] { entries.flatMap(\.warnings) }

    public var rules: [Mitigation] { entries.map(\.rule) }

    /// Loads every rule under `path`; throws `RuleFilesInvalid` listing every problem in every file.
    public static func load(_ path: String, decoder: RuleDocumentDecoder = RuleDocumentDecoder()) throws(RuleFilesInvalid) -> RuleFileSet {
        let files = try ruleFiles(at: path)
        var entries: [Entry] = []
        var problems: [RuleFileProblem] = []
        for file in files {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                problems.append(RuleFileProblem(file: file, line: 1, field: "", message: "cannot read the file as UTF-8 text: \(error.localizedDescription)"))
                continue
            }
            switch decoder.decode(text, file: file) {
            case .success(let decoded): entries.append(Entry(file: file, rule: decoded.rule, idLine: decoded.idLine, warnings: decoded.warnings))
            case .failure(let invalid): problems += invalid.problems
            }
        }
        var firstFileByID: [String: String] = [:]
        for entry in entries {
            if let first = firstFileByID[entry.rule.id] {
                problems.append(RuleFileProblem(
                    file: entry.file, line: entry.idLine, field: Mitigation.CodingKeys.id.stringValue,
                    message: "duplicate id '\(entry.rule.id)': \(first) defines it too"
                ))
            } else {
                firstFileByID[entry.rule.id] = entry.file
            }
        }
        guard problems.isEmpty else { throw RuleFilesInvalid(problems: problems) }
        return RuleFileSet(entries: entries)
    }

    /// The rule files at `path`: the file itself, or the folder's YAML files in name order.
    static func ruleFiles(at path: String) throws(RuleFilesInvalid) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RuleFilesInvalid(problems: [RuleFileProblem(file: path, line: 0, field: "", message: "no such file or folder")])
        }
        guard isDirectory.boolValue else { return [path] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw RuleFilesInvalid(problems: [RuleFileProblem(file: path, line: 0, field: "", message: "cannot list the folder: \(error.localizedDescription)")])
        }
        let base = URL(fileURLWithPath: path, isDirectory: true)
        return names
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
            .map { base.appendingPathComponent($0).relativePath }
    }
}
