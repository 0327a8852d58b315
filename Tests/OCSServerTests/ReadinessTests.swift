import Foundation
@testable import OCSServer
import OCSStorage
import OCSTestSupport
import Testing

/// Ready means a check-in can be committed to the file that will be there after a restart.
struct ReadinessTests {
    /// The database file deleted (or moved) under a running server: polls still commit, to a file
    /// no restart opens, so `/readyz` says 503 and why, without the path.
    @Test(arguments: [false, true])
    func readinessFailsOnceTheDatabaseFileIsGone(deleted: Bool) async throws {
        let database = try TemporaryDatabase()
        let path = database.path
        let answers = try await InProcessServer.serving(database: database.database, configuration: .init(host: "127.0.0.1", port: 0)) { address in
            let url = "http://127.0.0.1:\(address.port ?? 0)/readyz"
            let before = try Curl.request(url)
            if deleted {
                try FileManager.default.removeItem(atPath: path)
            } else {
                try FileManager.default.moveItem(atPath: path, toPath: path + ".old")
            }
            return (before, try Curl.request(url))
        }
        #expect(answers.0.status == 200)
        #expect(answers.1.status == 503)
        #expect(answers.1.text.contains("the database file was deleted or moved since the server opened it"), "\(answers.1.text)")
        #expect(!answers.1.text.contains(database.folder.path))
        #expect(answers.1.header("Cache-Control") == "no-store")
    }

    @Test func readinessFailsWhenTheFileSystemIsNearlyFull() async throws {
        let database = try TemporaryDatabase()
        // More than any file system here has free: the same check a nearly full disk fails.
        let configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, minimumFreeBytes: UInt64.max / 2)
        let ready = try await InProcessServer.serving(database: database.database, configuration: configuration) { address in
            try Curl.request("http://127.0.0.1:\(address.port ?? 0)/readyz")
        }
        #expect(ready.status == 503)
        #expect(ready.text.contains("the database's file system has") && ready.text.contains("MiB kept for commits"), "\(ready.text)")
    }
}
