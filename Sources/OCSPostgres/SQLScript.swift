/// A migration file cut into its statements. postgres-nio speaks only the extended query protocol,
/// which takes one statement at a time, while a migration file holds many.
///
/// A `;` ends a statement unless it is inside a string ('...', with '' for a quote), a quoted
/// identifier ("..."), a dollar-quoted body ($$...$$ or $tag$...$tag$, as function bodies are
/// written) or a comment (-- to the end of the line, /* ... */ nested). E'...' strings with
/// backslash escapes are not understood: the migrations do not use them.
enum SQLScript {
    static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var hasContent = false
        var index = 0

        func byte(_ offset: Int) -> UInt8? {
            index + offset < bytes.count ? bytes[index + offset] : nil
        }
        func isIdentifierByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || (byte >= 0x30 && byte <= 0x39)
                || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte >= 0x80
        }
        /// The dollar quote's delimiter starting at `index` (`$$` or `$tag$`), if one starts there.
        func dollarQuote() -> [UInt8]? {
            guard bytes[index] == UInt8(ascii: "$"), index == 0 || !isIdentifierByte(bytes[index - 1]) else { return nil }
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "$") {
                let byte = bytes[end]
                // A tag is an identifier not starting with a digit; `$1` is a parameter.
                guard isIdentifierByte(byte), byte != UInt8(ascii: "$"), !(end == index + 1 && byte >= 0x30 && byte <= 0x39) else { return nil }
                end += 1
            }
            guard end < bytes.count else { return nil }
            return Array(bytes[index...end])
        }

        while index < bytes.count {
            let current = bytes[index]
            if current == UInt8(ascii: "-"), byte(1) == UInt8(ascii: "-") {
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            }
            if current == UInt8(ascii: "/"), byte(1) == UInt8(ascii: "*") {
                var depth = 1
                index += 2
                while index < bytes.count, depth > 0 {
                    if bytes[index] == UInt8(ascii: "/"), byte(1) == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*"), byte(1) == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
                continue
            }
            if current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") {
                hasContent = true
                index += 1
                while index < bytes.count {
                    if bytes[index] == current {
                        if byte(1) == current {
                            index += 2 // a doubled quote stands for itself
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                continue
            }
            if let delimiter = dollarQuote() {
                hasContent = true
                index += delimiter.count
                while index < bytes.count, !bytes[index...].starts(with: delimiter) { index += 1 }
                index += delimiter.count
                continue
            }
            if current == UInt8(ascii: ";") {
                if hasContent {
                    statements.append(String(decoding: bytes[start...index], as: UTF8.self))
                }
                start = index + 1
                hasContent = false
                index += 1
                continue
            }
            if !(current == UInt8(ascii: " ") || current == UInt8(ascii: "\n") || current == UInt8(ascii: "\t") || current == UInt8(ascii: "\r")) {
                hasContent = true
            }
            index += 1
        }
        if hasContent {
            statements.append(String(decoding: bytes[start..<min(index, bytes.count)], as: UTF8.self))
        }
        return statements.map { $0.trimmingWhitespace() }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
