/// What a host does with a verified feed: apply what the feed carries (unless blocked, already
/// applied, or auto-apply is off) and remove what it applied that the feed no longer carries (the
/// fixing update was installed). `applied` is what the host reports: at once, by the next poll
/// (`ocs agent run`) or a poll of its own (`EMAgent.report`), and on every poll after.
public struct MitigationChange: Sendable, Equatable {
    public let apply: [String]
    public let remove: [String]
    public let applied: [String]

    public init(feed: [String], applied current: [String], blocked: [String], autoApply: Bool) {
        let inFeed = Set(feed), blockedSet = Set(blocked), currentSet = Set(current)
        apply = autoApply ? feed.filter { !blockedSet.contains($0) && !currentSet.contains($0) }.uniqued() : []
        remove = current.filter { !inFeed.contains($0) }.sorted()
        applied = Set(current).subtracting(remove).union(apply).sorted()
    }

    /// Whether the host applies or removes anything: then what it reports changes.
    public var changesSomething: Bool {
        !apply.isEmpty || !remove.isEmpty
    }

    /// An id as the feed query accepts it: A-Z a-z 0-9 . _ - (and not empty).
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && id.unicodeScalars.allSatisfy { scalar in
            ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-"
        }
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
