/// A line diff by longest common subsequence: unchanged lines indented, removed `-`, added `+`.
/// Rules are a few dozen lines, so the quadratic table is small. The CLI's `rules diff` and the
/// dashboard's rule page both show it.
public struct LineDiff: Sendable {
    public let lines: [String]

    public init(_ old: [Substring], _ new: [Substring]) {
        var common = Array(repeating: Array(repeating: 0, count: new.count + 1), count: old.count + 1)
        for i in stride(from: old.count - 1, through: 0, by: -1) {
            for j in stride(from: new.count - 1, through: 0, by: -1) {
                common[i][j] = old[i] == new[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        var output: [String] = []
        var i = 0, j = 0
        while i < old.count || j < new.count {
            if i < old.count, j < new.count, old[i] == new[j] {
                output.append("  " + old[i]); i += 1; j += 1
            } else if j < new.count, i == old.count || common[i][j + 1] >= common[i + 1][j] {
                output.append("+ " + new[j]); j += 1
            } else {
                output.append("- " + old[i]); i += 1
            }
        }
        lines = output.map { $0.trimmingTrailingSpaces() }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
