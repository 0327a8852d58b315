import Configuration
import Foundation
import Yams

/// Where a setting's value came from, highest precedence first.
enum SettingSource: String, Sendable {
    case commandLine = "command line"
    case environment
    case configFile = "config file"
    case defaultValue = "default"
}

/// Reads settings from, in order of precedence: the command line, `OCS_*` environment variables,
/// the YAML file given by `--config` or `OCS_CONFIG`, and built-in defaults. Each value is
/// checked here, and a bad one is reported with the place it came from. It remembers what it
/// resolved, for `ocs config show`.
struct SettingsReader {
    /// A resolved setting, as `ocs config show` prints it.
    struct Resolved: Sendable {
        let setting: Setting
        let value: String?
        let source: SettingSource
    }

    let configFile: String?
    private let environment: ConfigReader
    private let file: ConfigReader?
    private(set) var resolved: [Resolved] = []

    init(configFile explicitFile: String?, environment variables: [String: String] = ProcessInfo.processInfo.environment) throws(SettingError) {
        environment = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables)).scoped(to: "ocs")
        configFile = explicitFile ?? variables[Setting.configFile.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        file = try configFile.map { path throws(SettingError) in
            ConfigReader(provider: InMemoryProvider(name: path, values: try Self.settings(in: path)))
        }
    }

    /// Text: a path, a host name, a level.
    mutating func text(_ setting: Setting, _ commandLine: String?, default defaultValue: String? = nil) -> String? {
        let (value, source) = raw(setting, commandLine) ?? (defaultValue, .defaultValue)
        resolved.append(Resolved(setting: setting, value: value, source: source))
        return value
    }

    /// Text, or nil when no place gives it; `shownDefault` says what applies then (for `config show`).
    mutating func optionalText(_ setting: Setting, _ commandLine: String?, shownDefault: String) -> String? {
        guard let (value, source) = raw(setting, commandLine) else {
            resolved.append(Resolved(setting: setting, value: shownDefault, source: .defaultValue))
            return nil
        }
        resolved.append(Resolved(setting: setting, value: value, source: source))
        return value
    }

    /// A whole number within `range`.
    mutating func integer(_ setting: Setting, _ commandLine: Int?, default defaultValue: Int, in range: ClosedRange<Int>) throws(SettingError) -> Int {
        try optionalInteger(setting, commandLine, in: range) ?? {
            resolved.append(Resolved(setting: setting, value: String(defaultValue), source: .defaultValue))
            return defaultValue
        }()
    }

    /// A whole number within `range`, or nil when no place gives one.
    mutating func optionalInteger(_ setting: Setting, _ commandLine: Int?, in range: ClosedRange<Int>) throws(SettingError) -> Int? {
        guard let (text, source) = raw(setting, commandLine.map(String.init)) else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw .invalid(setting, source: source, value: text, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        resolved.append(Resolved(setting: setting, value: String(value), source: source))
        return value
    }

    /// On or off: a flag on the command line, `true`/`false` elsewhere.
    /// An `http` or `https` URL of a host and nothing else (a path of `/` at most); nil when not given.
    mutating func publicURL(_ setting: Setting, _ commandLine: String?) throws(SettingError) -> URL? {
        guard let (text, source) = raw(setting, commandLine) else {
            resolved.append(Resolved(setting: setting, value: nil, source: .defaultValue))
            return nil
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
              components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil,
              let url = components.url
        else {
            throw .invalid(setting, source: source, value: text, expected: "an http:// or https:// URL of a host and nothing more, like https://ocs.example.org")
        }
        resolved.append(Resolved(setting: setting, value: text, source: source))
        return url
    }

    mutating func flag(_ setting: Setting, _ commandLine: Bool) throws(SettingError) -> Bool {
        guard let (text, source) = raw(setting, commandLine ? "true" : nil) else {
            resolved.append(Resolved(setting: setting, value: "false", source: .defaultValue))
            return false
        }
        let value: Bool
        switch text.lowercased() {
        case "true", "yes", "1", "on": value = true
        case "false", "no", "0", "off": value = false
        default: throw .invalid(setting, source: source, value: text, expected: "true or false")
        }
        resolved.append(Resolved(setting: setting, value: String(value), source: source))
        return value
    }

    /// Notes a value resolved elsewhere, for `ocs config show`.
    mutating func record(_ setting: Setting, _ value: String?, source: SettingSource) {
        resolved.append(Resolved(setting: setting, value: value, source: source))
    }

    /// The first place that gives the setting, as text.
    private func raw(_ setting: Setting, _ commandLine: String?) -> (String, SettingSource)? {
        if let commandLine { return (commandLine, .commandLine) }
        if let value = environment.string(forKey: ConfigKey(setting.key)) { return (value, .environment) }
        if let value = file?.string(forKey: ConfigKey(setting.key)) { return (value, .configFile) }
        return nil
    }

    /// The file's settings. It must be a mapping of known keys to single values: a misspelt key
    /// would otherwise be ignored and its setting silently left at its default.
    private static func settings(in path: String) throws(SettingError) -> [AbsoluteConfigKey: ConfigValue] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .unreadableFile(path, reason: FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw .unreadableFile(path, reason: "not valid YAML: \(error)")
        }
        guard let node else { return [:] }
        guard let mapping = node.mapping else { throw .unreadableFile(path, reason: "expected a mapping of settings, like 'port: 8443'") }
        let known = Set(Setting.fileKeys.map(\.key))
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in mapping {
            let name = key.string ?? "\(key)"
            guard known.contains(name) else {
                throw .unknownKey(path, key: name, known: Setting.fileKeys.map(\.key))
            }
            guard let scalar = value.scalar else {
                throw .unreadableFile(path, reason: "'\(name)' must be a single value, not a list or mapping")
            }
            values[AbsoluteConfigKey([name])] = ConfigValue(.string(scalar.string), isSecret: false)
        }
        return values
    }
}

/// A setting that cannot be used, naming where it came from.
enum SettingError: Error, CustomStringConvertible {
    case invalid(Setting, source: SettingSource, value: String, expected: String)
    case unreadableFile(String, reason: String)
    case unknownKey(String, key: String, known: [String])

    var description: String {
        switch self {
        case .invalid(let setting, let source, let value, let expected):
            let place = switch source {
            case .commandLine: setting.option
            case .environment: setting.environmentVariable
            case .configFile: "'\(setting.key)' in the configuration file"
            case .defaultValue: setting.key
            }
            return "\(place): '\(value.prefix(80))' is not \(expected)"
        case .unreadableFile(let path, let reason):
            return "the configuration file \(path): \(reason)"
        case .unknownKey(let path, let key, let known):
            return "the configuration file \(path): unknown setting '\(key.prefix(80))'; the settings are \(known.joined(separator: ", "))"
        }
    }
}
