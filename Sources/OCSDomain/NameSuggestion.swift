/// The name a mistyped one most likely meant, for "did you mean ...?" hints.
public enum NameSuggestion {
    /// The allowed name `name` most likely misspells: the same but for case, or at most two edits
    /// away (the nearest; the first of equally near ones). Nil when none is that close.
    public static func closest(to name: String, in allowed: [String]) -> String? {
        if let sameLetters = allowed.first(where: { $0.lowercased() == name.lowercased() }) { return sameLetters }
        guard name.count <= 64 else { return nil }
        let typed = Array(name.lowercased())
        // Names whose lengths differ by more than two are more than two edits apart: skip them.
        let scored = allowed.filter { abs($0.count - typed.count) <= 2 }.map { ($0, editDistance(typed, Array($0.lowercased()))) }
        return scored.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance between two short strings.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, right) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
