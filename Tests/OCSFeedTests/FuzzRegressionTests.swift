import Testing
import OCSFeed

/// Inputs that `Fuzz/run.sh` (FuzzFeedQuery) found, kept so that what they broke stays fixed.
struct FuzzRegressionTests {
    func refusal(_ items: [(String, String?)]) -> String? {
        do {
            _ = try FeedQuery(items: items.map { (name: $0.0, value: $0.1) })
            return nil
        } catch {
            return error.description
        }
    }

    /// FuzzFeedQuery's first finding, `build=15.\n2.1118.7` (the server reads `build=15.%0A2.1118.7`
    /// the same way): the refused value was echoed with its line break, so the `400` was two lines.
    @Test func aLineBreakInARefusedValueIsEscaped() throws {
        let line = try #require(refusal([("build", "15.\n2.1118.7")]))
        #expect(line.hasPrefix(#"parameter 'build' '15.\n2.1118.7' is not a build"#))
        #expect(!line.contains { $0.isNewline })
    }

    @Test(arguments: [
        ("serverId", "6f1d2c3b\r\n-0a4e"), ("server", "EX01\n<html>"), ("mitigationsEnabled", "tr\u{85}ue"),
        ("applied", "M1,\u{2028}M2"), ("orgId", "\u{0B}\u{0C}\u{7F}\t"),
    ])
    func everyRefusalIsOneLine(name: String, value: String) throws {
        let line = try #require(refusal([(name, value)]))
        #expect(!line.contains { $0.isNewline }, "\(line.debugDescription)")
        #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .control })
    }
}
