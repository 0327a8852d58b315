import Foundation

/// Files the command line reads as input (a feed, an export): never more than their limit,
/// whatever the file claims or grows to while it is read.
enum InputFile {
    /// The bytes of `path`, or a failure naming it: unreadable, or over `limit` bytes (`what`
    /// names the kind of file in the message, "not verified", "nothing recorded").
    static func read(_ path: String, limit: Int, refusing what: String) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CommandFailure("\(path): cannot read the file") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw CommandFailure("\(path): cannot read the file: \(error.localizedDescription)")
        }
        guard data.count <= limit else {
            throw CommandFailure("\(path): \(what): the file is over the limit of \(limit) bytes")
        }
        return data
    }
}
