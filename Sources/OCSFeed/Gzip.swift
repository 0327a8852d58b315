import CZlib

/// Compresses bytes into the gzip format (RFC 1952), at zlib's best level: a feed is compressed
/// once when it is signed and served many times, so the slowest level costs nothing per poll.
enum Gzip {
    /// The gzip member holding `bytes`.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        let initialized = deflateInit2_(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(initialized == Z_OK, "zlib refused its own default parameters (\(initialized))")
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        var input = bytes
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        // deflateBound is an upper bound for a single Z_FINISH call, so the stream always ends.
        precondition(status == Z_STREAM_END, "zlib did not finish within deflateBound (\(status))")
        output.removeLast(Int(stream.avail_out))
        return output
    }
}
