import Foundation
import GRDB

/// The ocs SQLite database, migrated from the embedded `Migrations/*.sql` on open: a WAL-mode
/// pool on a file, or any GRDB writer (an in-memory queue in unit tests), as GRDB's
/// `AppDatabase` takes one.
///
/// Every method of the stores built on it blocks on SQLite: call them off NIO event loops.
public final class OCSDatabase: Sendable {
    let writer: any DatabaseWriter
    /// The file, or `:memory:`.
    public let path: String
    /// The device and inode of the file as opened; nil for a database not opened from a path.
    let opened: FileIdentity?

    /// Migrates and wraps `writer`; `path` names it in messages.
    public init(_ writer: any DatabaseWriter, path: String = ":memory:") throws(StorageError) {
        self.writer = writer
        self.path = path
        opened = nil
        do {
            try Self.migrator.migrate(writer)
        } catch {
            throw StorageError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// A new, migrated database in memory: for tests of the stores and services.
    public static func inMemory() throws(StorageError) -> OCSDatabase {
        do {
            return try OCSDatabase(DatabaseQueue())
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.cannotOpen(path: ":memory:", reason: "\(error)")
        }
    }

    /// Opens (creating the file and its folder if needed) and migrates the database at `path`.
    public init(path: String) throws(StorageError) {
        self.path = path
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw StorageError.cannotOpen(path: path, reason: "cannot create the folder \(folder.path): \(error.localizedDescription)")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // FULL: a commit is on disk before it returns, so a recorded check-in survives a crash.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // Another process may be opening the same new file: switching it to WAL needs an exclusive
        // lock the busy timeout does not wait for, and two migrators would both apply a migration.
        let setUpLock = try Self.lockSetUp(of: path)
        defer { close(setUpLock) }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            writer = pool
        } catch {
            throw StorageError.cannotOpen(path: path, reason: "\(error)")
        }
        opened = FileIdentity(path: path)
    }

    /// Free space the database's file system must keep for the server to count as ready: room for
    /// check-ins, their write-ahead log and a checkpoint, with margin.
    public static let minimumFreeBytes: UInt64 = 64 << 20

    /// Why a commit now might not be there after a restart, or nil: the file at `path` is gone, or
    /// is another file than the one open (deleted, renamed or replaced under the server: SQLite
    /// keeps writing to the open one, which no restart finds), or its file system has less than
    /// `minimumFreeBytes` free. Worded without the path, for callers that must not reveal it.
    public func durabilityProblem(minimumFreeBytes: UInt64 = OCSDatabase.minimumFreeBytes) -> String? {
        guard let opened else { return nil }
        guard let now = FileIdentity(path: path) else {
            return "the database file was deleted or moved since the server opened it: what is committed now would be lost on restart"
        }
        guard now == opened else {
            return "the database file was replaced since the server opened it: what is committed now would be lost on restart"
        }
        var space = statvfs()
        guard statvfs(path, &space) == 0 else {
            return "the free space of the database's file system cannot be read: \(String(cString: strerror(errno)))"
        }
        let free = UInt64(space.f_bavail) * UInt64(space.f_frsize)
        guard free >= minimumFreeBytes else {
            return "the database's file system has \(free >> 20) MiB free, below the \(minimumFreeBytes >> 20) MiB kept for commits"
        }
        return nil
    }

    /// Waits for, then holds, an exclusive `flock` on `<path>.lock`; released when the returned
    /// descriptor is closed (or the process dies, so a killed opener never blocks the next one).
    private static func lockSetUp(of path: String) throws(StorageError) -> Int32 {
        let lockFile = path + ".lock"
        let descriptor = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .cannotOpen(path: path, reason: "cannot open the lock file \(lockFile): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw .cannotOpen(path: path, reason: "cannot lock \(lockFile): \(reason)")
            }
        }
        return descriptor
    }

    /// The SQL migrations compiled into the binary, by name, in the order they apply.
    public static var migrations: [(name: String, sql: String)] {
        EmbeddedMigrations.all.map { ($0.name, String(decoding: $0.sql, as: UTF8.self)) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Names of the migrations this database has applied.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Self.migrator.appliedMigrations(db) }
    }
}

/// Which file a path names: its device and inode.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// Nil when nothing is at `path` (or it cannot be read).
    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}

/// Storage failures, with the path or record they concern.
public enum StorageError: Error, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corruptRule(id: String, reason: String)
    case corruptCatalog(build: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open the database \(path): \(reason)"
        case .corruptRule(let id, let reason):
            "rule \(id) in the database cannot be read: \(reason)"
        case .corruptCatalog(let build):
            "the catalog row of build \(build) in the database cannot be read"
        }
    }
}
