import OCSDomain

/// Checks a YAML rule file's text before any parser sees it, so a hostile file costs no more
/// than one pass over its bytes: its size, anchors and aliases, and how deeply it nests.
///
/// Anchors and aliases are refused outright: rule files have no use for them, and an alias to
/// nested lists used as a mapping key makes a file of a few hundred bytes cost the composer
/// exponential time (Yams hashes every key, and has no hook to refuse aliases itself). The scan
/// tracks just enough YAML (quotes, comments, flow brackets, block scalars, plain scalars) to
/// find `&` and `*` where a node begins; where it cannot tell, it refuses, and the message says
/// to quote the text.
struct YAMLPreflight {
    /// Why the text was refused, and where.
    struct Refusal: Error, Equatable {
        let line: Int
        let message: String
    }

    static func check(_ text: String) -> Refusal? {
        let size = text.utf8.count
        if size > RuleLimits.documentSize {
            return Refusal(line: 1, message: "the file is \(size) bytes: a rule file may hold at most \(RuleLimits.documentSize)")
        }
        var scan = YAMLPreflight(bytes: Array(text.utf8))
        do {
            try scan.run()
            return nil
        } catch {
            return error
        }
    }

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    private var flowDepth = 0
    /// Columns of the open block nodes, innermost last.
    private var indents: [Int] = []
    /// True where the next token would begin a node: where an anchor or alias could stand.
    private var atNodeStart = true
    /// While inside a block scalar (`|`, `>`): lines indented deeper than this are its text.
    private var blockScalarParent: Int?

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func run() throws(Refusal) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3; lineStart = 3 }
        while index < bytes.count {
            var indent = 0
            while byte(at: index + indent) == .space { indent += 1 }
            let content = index + indent
            let blank = isBlankLine(from: content)
            if let parent = blockScalarParent {
                if blank || indent > parent { skipLine(); continue }
                blockScalarParent = nil
            }
            // Conservative: any line may begin a node (a plain scalar's continuation line rarely
            // starts with & or *, and quoting it is the fix).
            atNodeStart = true
            if flowDepth == 0 {
                if blank || byte(at: content) == .hash { skipLine(); continue }
                if indent == 0 && byte(at: content) == .percent { skipLine(); continue } // a directive
                index = content
                if indent == 0 && (startsMarker("---") || startsMarker("...")) { index += 3 }
                while let last = indents.last, last >= indent { indents.removeLast() }
                try open(indent)
            } else {
                index = content
            }
            try scanLine(indent: indent)
        }
    }

    /// Scans one line from `index` to its break (a quoted scalar may carry it onto later lines).
    private mutating func scanLine(indent: Int) throws(Refusal) {
        // The column of the key or `-` that owns what follows: a block scalar's text is indented deeper.
        var owner = indent
        var scalarColumn: Int?
        while index < bytes.count {
            if let breakLength = breakLength(at: index) {
                index += breakLength
                newLine()
                return
            }
            let current = bytes[index]
            let column = index - lineStart
            if current == .space || current == .tab { index += 1; continue }
            if current == .hash && (index == lineStart || [.space, .tab].contains(bytes[index - 1])) {
                skipToBreak()
                continue
            }
            let next = byte(at: index + 1)
            let nextIsBlank = next == nil || next == .space || next == .tab || breakLength(at: index + 1) != nil
            switch current {
            case .ampersand where atNodeStart, .asterisk where atNodeStart:
                throw Refusal(line: line, message: "anchors (&) and aliases (*) are not allowed in rule files: write each value out, or quote text that starts with \(current == .ampersand ? "&" : "*")")
            case .exclamation where atNodeStart:
                // A tag (`!!str`): skip it; the node it tags starts after it.
                while let byte = byte(at: index), byte != .space, byte != .tab, breakLength(at: index) == nil, !(flowDepth > 0 && byte.isFlowIndicator) {
                    index += 1
                }
            case .dash where atNodeStart && flowDepth == 0 && nextIsBlank, .question where atNodeStart && nextIsBlank:
                owner = column
                index += 1
                try open(column + 1)
            case .pipe where atNodeStart && flowDepth == 0, .greater where atNodeStart && flowDepth == 0:
                blockScalarParent = owner
                skipToBreak()
            case .doubleQuote, .singleQuote:
                scalarColumn = column
                skipQuoted(current)
                atNodeStart = false
            case .openBracket, .openBrace:
                flowDepth += 1
                index += 1
                atNodeStart = true
                try checkDepth()
            case .closeBracket, .closeBrace:
                flowDepth = max(0, flowDepth - 1)
                index += 1
                atNodeStart = false
            case .comma where flowDepth > 0:
                index += 1
                atNodeStart = true
            case .colon where flowDepth > 0 || nextIsBlank:
                // A value follows; in block context the scalar before it was a key.
                if flowDepth == 0, !atNodeStart, let scalarColumn { owner = scalarColumn }
                index += 1
                atNodeStart = true
            default:
                if atNodeStart {
                    scalarColumn = column
                    skipPlain()
                    atNodeStart = false
                } else {
                    index += 1
                }
            }
        }
    }

    /// Opens a block node at `column`, refusing nesting beyond the limit.
    private mutating func open(_ column: Int) throws(Refusal) {
        indents.append(column)
        try checkDepth()
    }

    private func checkDepth() throws(Refusal) {
        if indents.count + flowDepth > RuleLimits.documentDepth {
            throw Refusal(line: line, message: "the file nests more than \(RuleLimits.documentDepth) levels deep: a rule needs five")
        }
    }

    private mutating func skipPlain() {
        while let current = byte(at: index), breakLength(at: index) == nil {
            let next = byte(at: index + 1)
            let nextIsBlank = next == nil || next == .space || next == .tab || breakLength(at: index + 1) != nil
            if current == .colon && (nextIsBlank || (flowDepth > 0 && next?.isFlowIndicator == true)) { return }
            if flowDepth > 0 && current.isFlowIndicator { return }
            if (current == .space || current == .tab) && next == .hash { return }
            index += 1
        }
    }

    private mutating func skipQuoted(_ quote: UInt8) {
        index += 1
        while index < bytes.count {
            if let breakLength = breakLength(at: index) {
                index += breakLength
                newLine()
                continue
            }
            let current = bytes[index]
            if quote == .doubleQuote && current == .backslash {
                index += 1
                if let breakLength = breakLength(at: index) {
                    index += breakLength
                    newLine()
                } else {
                    index += 1
                }
                continue
            }
            if current == quote {
                if quote == .singleQuote && byte(at: index + 1) == .singleQuote { index += 2; continue }
                index += 1
                return
            }
            index += 1
        }
    }

    private mutating func skipToBreak() {
        while index < bytes.count, breakLength(at: index) == nil { index += 1 }
    }

    private mutating func skipLine() {
        skipToBreak()
        if let breakLength = breakLength(at: index) {
            index += breakLength
            newLine()
        }
    }

    private mutating func newLine() {
        line += 1
        lineStart = index
    }

    private func byte(at offset: Int) -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    private func isBlankLine(from offset: Int) -> Bool {
        var offset = offset
        while byte(at: offset) == .space || byte(at: offset) == .tab { offset += 1 }
        return offset >= bytes.count || breakLength(at: offset) != nil
    }

    /// `---` or `...` at the start of a line followed by a blank: a document marker.
    private func startsMarker(_ marker: String) -> Bool {
        let end = index + 3
        guard bytes[index..<min(end, bytes.count)].elementsEqual(marker.utf8) else { return false }
        return end >= bytes.count || bytes[end] == .space || bytes[end] == .tab || breakLength(at: end) != nil
    }

    /// The length of the line break at `offset`, or nil. YAML 1.1 (libyaml) also breaks lines at
    /// NEL, LS and PS, so they count here too.
    private func breakLength(at offset: Int) -> Int? {
        guard let first = byte(at: offset) else { return nil }
        switch first {
        case 0x0A: return 1
        case 0x0D: return byte(at: offset + 1) == 0x0A ? 2 : 1
        case 0xC2 where byte(at: offset + 1) == 0x85: return 2
        case 0xE2 where byte(at: offset + 1) == 0x80 && [0xA8, 0xA9].contains(byte(at: offset + 2)): return 3
        default: return nil
        }
    }
}

private extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let hash = UInt8(ascii: "#")
    static let percent = UInt8(ascii: "%")
    static let ampersand = UInt8(ascii: "&")
    static let asterisk = UInt8(ascii: "*")
    static let exclamation = UInt8(ascii: "!")
    static let dash = UInt8(ascii: "-")
    static let question = UInt8(ascii: "?")
    static let pipe = UInt8(ascii: "|")
    static let greater = UInt8(ascii: ">")
    static let doubleQuote = UInt8(ascii: "\"")
    static let singleQuote = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")

    var isFlowIndicator: Bool {
        self == .comma || self == .openBracket || self == .closeBracket || self == .openBrace || self == .closeBrace
    }
}
