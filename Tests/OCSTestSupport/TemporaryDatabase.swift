import Foundation
import OCSStorage

/// A real SQLite file in a fresh temporary folder, removed when the test ends.
public final class TemporaryDatabase {
    public let folder: URL
    public let path: String
    public let database: OCSDatabase

    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-db-\(UUID().uuidString)")
        path = folder.appendingPathComponent("nested/ocs.sqlite").path
        database = try OCSDatabase(path: path)
    }

    /// A second, independent connection pool on the same file, as another process would open it.
    public func reopen() throws -> OCSDatabase {
        try OCSDatabase(path: path)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}
