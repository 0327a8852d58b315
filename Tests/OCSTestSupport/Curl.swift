import Foundation

/// An HTTP response as curl saw it.
public struct CurlResponse: Sendable {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// curl, an HTTP client nobody here wrote, as the judge of what the server sends.
public enum Curl {
    /// Requests `url` with extra curl `options` (e.g. `-X POST`, `-H ...`, `-I`).
    public static func request(_ url: String, _ options: [String] = []) throws -> CurlResponse {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let body = scratch.appendingPathComponent("body"), head = scratch.appendingPathComponent("head")
        let result = try Command.run("curl", [
            "--silent", "--show-error", "--max-time", "20", "--globoff",
            "--output", body.path, "--dump-header", head.path, "--write-out", "%{http_code}",
        ] + options + [url])
        guard result.status == 0, let status = Int(result.output) else {
            throw CurlFailed(url: url, message: result.stderr)
        }
        let headerText = (try? String(contentsOf: head, encoding: .utf8)) ?? ""
        let headers = headerText.split(whereSeparator: \.isNewline).dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return CurlResponse(status: status, headers: headers, body: (try? Data(contentsOf: body)) ?? Data())
    }
}

public struct CurlFailed: Error, CustomStringConvertible {
    public let url: String
    public let message: String
    public var description: String { "curl \(url) failed: \(message)" }
}

/// xmllint, the independent XML parser: well-formedness and XPath queries.
public enum XMLLint {
    /// The `id` of every `Config`, in document order; throws when the document is not well-formed.
    public static func configIDs(_ document: Data) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-feed-\(UUID().uuidString).xml")
        try document.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let wellFormed = try Command.run("xmllint", ["--noout", file.path])
        guard wellFormed.status == 0 else { throw NotWellFormed(message: wellFormed.stderr) }
        let result = try Command.run("xmllint", ["--xpath", "/EOCS/Config/@id", file.path])
        // xmllint exits 10 when the XPath matches nothing.
        if result.status == 10 { return [] }
        guard result.status == 0 else { throw NotWellFormed(message: result.stderr) }
        return result.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { token in
            guard token.hasPrefix("id=\""), token.hasSuffix("\"") else { return nil }
            return String(token.dropFirst(4).dropLast())
        }
    }
}

public struct NotWellFormed: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "not well-formed XML: \(message)" }
}

/// xmlsec1, the independent XML Signature verifier, with trust pinned to a PEM certificate.
public enum XMLSec {
    /// `xmlsec1 --verify --enabled-key-data x509 --trusted-pem TRUSTED`: trusts only signatures
    /// whose X509Data certificate chains to `trusted`, never the document's own key.
    public static func verify(_ document: Data, trusting trusted: String) throws -> CommandResult {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-xmlsec-\(UUID().uuidString).xml")
        try document.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try Command.run("xmlsec1", ["--verify", "--enabled-key-data", "x509", "--trusted-pem", trusted, file.path])
    }
}
