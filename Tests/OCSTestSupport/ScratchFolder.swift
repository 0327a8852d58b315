import Foundation

/// A fresh temporary folder, removed when the test ends.
public final class ScratchFolder {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ocs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the folder.
    public func path(_ relative: String) -> String {
        url.appendingPathComponent(relative).path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
