import Foundation
import FuzzSupport
import OCSDomain
import OCSFeed

// libFuzzer target: the feed query as the server parses it.
//
// The input is read three ways, each fed to `FeedQuery(items:)`:
// 1. as the query string of `/getexchangemitigations?...`, split with URLComponents exactly as
//    `FeedEndpoint.queryItems(of:)` does (percent-decoding included);
// 2. as a whole request target (path, query, or anything else a request line may carry);
// 3. as raw `name=value` pairs split on `&` with no decoding, so that values URLComponents
//    would never produce (control characters, lone `%`) reach the validation too.
// Nothing may crash; an accepted query must hold only what its validation promises, and a
// refusal must be the one line the server answers `400` with.

@main
enum Main {
    static func main() { runFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    check(uri: "/getexchangemitigations?" + text)
    check(uri: text)
    check(items: rawItems(text))
    return 0
}

/// `FeedEndpoint.queryItems(of:)`, which is internal to OCSServer: the same URLComponents call.
private func check(uri: String) {
    guard let components = URLComponents(string: uri) else { return }
    check(items: (components.queryItems ?? []).map { ($0.name, $0.value) })
}

private func rawItems(_ text: String) -> [(name: String, value: String?)] {
    text.split(separator: "&", omittingEmptySubsequences: false).map { pair in
        guard let equals = pair.firstIndex(of: "=") else { return (String(pair), nil) }
        return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
    }
}

private func check(items: [(name: String, value: String?)]) {
    let query: FeedQuery
    do {
        query = try FeedQuery(items: items)
    } catch {
        let line = error.description
        require(!line.contains(where: \.isNewline), "a refusal is not one line: \(line.debugDescription)")
        return
    }
    if let build = query.build {
        require(ExchangeProduct(build: build) != nil, "accepted a build of no product: \(build)")
    }
    if let server = query.server {
        require(!server.isEmpty && server.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) },
                "accepted a bad host name: \(server.debugDescription)")
        require(server.utf8.count <= FeedQuery.maximumValueLength, "accepted a long host name")
    }
    for guid in [query.serverID, query.orgID].compactMap({ $0 }) {
        require(guid.utf8.count == 36 && guid.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) || $0 == UInt8(ascii: "-") },
                "accepted a GUID not in canonical form: \(guid.debugDescription)")
    }
    for id in query.applied + query.blocked {
        require(RuleValidator.isValidID(id), "accepted a bad mitigation id: \(id.debugDescription)")
    }
    require(query.identifiesHost == (query.server != nil || query.serverID != nil), "identifiesHost disagrees with server and serverId")
}
