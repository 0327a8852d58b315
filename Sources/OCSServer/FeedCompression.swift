import NIOHTTP1
import NIOHTTPCompression

/// When the feed is gzipped: only full `GET` bodies the endpoint marks, never `HEAD` (which has
/// no body to compress) or error messages. A gzipped body is another representation of the
/// document, so its entity tag gets a `-gzip` suffix, as a strong validator must.
enum FeedCompression {
    /// Internal header the endpoint sets on compressible responses; never sent to clients.
    static let marker = "X-OCS-Compressible"
    static let etagSuffix = "-gzip"

    static func makeCompressor() -> HTTPResponseCompressor {
        HTTPResponseCompressor { head, isCompressionSupported in
            guard head.headers.contains(name: marker) else { return .doNotCompress }
            head.headers.remove(name: marker)
            guard isCompressionSupported else { return .doNotCompress }
            if let etag = head.headers.first(name: "ETag"), etag.hasSuffix("\"") {
                head.headers.replaceOrAdd(name: "ETag", value: etag.dropLast() + etagSuffix + "\"")
            }
            return .compressIfPossible
        }
    }
}
