import Foundation

/// Which part of a list to read: at most `limit` items after `cursor` (from the start without one).
///
/// Lists are read by key (keyset pagination), never by offset: a page costs the same wherever it
/// is, and items added or removed meanwhile neither repeat nor push others out of the walk.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maximumLimit = 1000

    public let limit: Int
    public let cursor: PageCursor?

    /// `limit` must be within 1...`maximumLimit`; `PageRequest.parse` checks input from outside.
    public init(limit: Int = PageRequest.defaultLimit, cursor: PageCursor? = nil) {
        precondition((1...Self.maximumLimit).contains(limit), "page limit out of range")
        self.limit = limit
        self.cursor = cursor
    }

    /// A request from `?limit=` and `?cursor=` as a caller sent them, for list `kind`.
    public static func parse(limit: String?, cursor: String?, kind: PageCursor.Kind) throws(PageRequestError) -> PageRequest {
        var count = defaultLimit
        if let limit {
            guard let parsed = Int(limit), (1...maximumLimit).contains(parsed) else {
                throw .badLimit(limit)
            }
            count = parsed
        }
        return PageRequest(limit: count, cursor: try cursor.map { text throws(PageRequestError) in try PageCursor(token: text, kind: kind) })
    }

    /// Every page in turn, for the command line: `read` gets each request, `handle` each page.
    public static func walk<Item>(
        limit: Int = maximumLimit, read: (PageRequest) throws -> Page<Item>, handle: (Page<Item>) throws -> Void
    ) throws {
        var request = PageRequest(limit: limit)
        while true {
            let page = try read(request)
            try handle(page)
            guard let next = page.next else { return }
            request = PageRequest(limit: limit, cursor: next)
        }
    }
}

/// Where the next page of a list starts: the key of the last item given. Opaque to callers, who
/// hand it back as they got it (`next` in a response, `?cursor=` in the request for the next page).
public struct PageCursor: Sendable, Equatable {
    /// The list a cursor walks: a cursor of one list is refused by another.
    public enum Kind: String, Sendable {
        case hosts
        case history
        case audit
        case groups
        case changes
        case builds
        /// The builds hosts report, keyed by their text.
        case hostBuilds
        /// Microsoft's documents kept, newest first.
        case upstream
    }

    public let kind: Kind
    /// The key of the last item of the previous page.
    public let key: Int64
    /// The key of a list keyed by text (`hostBuilds`): the last item's text; `key` is then 0.
    public let text: String?

    public init(kind: Kind, key: Int64) {
        self.kind = kind
        self.key = key
        text = nil
    }

    /// A cursor of a list keyed by text: a build's, digits and dots, at most `maximumTextKey` bytes.
    public init(kind: Kind, text: String) {
        self.kind = kind
        key = 0
        self.text = text
    }

    /// The longest text key: a build's text is at most 43 bytes (four 32-bit numbers and dots).
    public static let maximumTextKey = 43

    /// `kind:key` or `kind:t:text` in unpadded base64url: a token that says nothing callers should
    /// build on.
    public var token: String {
        Data("\(kind.rawValue):\(text.map { "t:" + $0 } ?? String(key))".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public init(token: String, kind: Kind) throws(PageRequestError) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard token.utf8.count <= 80,
              let data = Data(base64Encoded: base64),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":"),
              text[..<colon] == kind.rawValue
        else {
            throw .badCursor(token)
        }
        let rest = text[text.index(after: colon)...]
        if kind == .hostBuilds {
            guard rest.hasPrefix("t:") else { throw .badCursor(token) }
            let key = String(rest.dropFirst(2))
            // A build's text: digits and dots only, so no forged key reaches a query as odd text.
            guard !key.isEmpty, key.utf8.count <= Self.maximumTextKey, key.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || (48...57).contains($0) }) else {
                throw .badCursor(token)
            }
            self.init(kind: kind, text: key)
        } else {
            guard let key = Int64(rest), key >= 0 else { throw .badCursor(token) }
            self.init(kind: kind, key: key)
        }
    }
}

/// One page of a list, and the cursor of the next one (nil on the last page).
public struct Page<Item> {
    public let items: [Item]
    public let next: PageCursor?

    public init(items: [Item], next: PageCursor?) {
        self.items = items
        self.next = next
    }

    /// The page from `limit + 1` rows read after the cursor: the extra one only says more follow.
    init(reading rows: [Item], limit: Int, kind: PageCursor.Kind, key: (Item) -> Int64) {
        let items = Array(rows.prefix(limit))
        self.items = items
        next = rows.count > limit ? items.last.map { PageCursor(kind: kind, key: key($0)) } : nil
    }

    /// The page from `limit + 1` rows read after a text cursor (see `PageCursor.init(kind:text:)`).
    init(reading rows: [Item], limit: Int, kind: PageCursor.Kind, text: (Item) -> String) {
        let items = Array(rows.prefix(limit))
        self.items = items
        next = rows.count > limit ? items.last.map { PageCursor(kind: kind, text: text($0)) } : nil
    }

    public func map<Other>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), next: next)
    }
}

extension Page: Sendable where Item: Sendable {}
extension Page: Equatable where Item: Equatable {}

/// `?limit=` or `?cursor=` that cannot be used; the message says what to send instead.
public enum PageRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case badLimit(String)
    case badCursor(String)

    public var description: String {
        switch self {
        case .badLimit(let text):
            "limit '\(text.prefix(40))' is not a number from 1 to \(PageRequest.maximumLimit)"
        case .badCursor(let text):
            "cursor '\(text.prefix(80))' is not one this list gave: pass the 'next' of the previous page, or leave it out to start"
        }
    }
}
