import Foundation

/// What a host keeps between polls: the newest feed it accepted (its serial and issued time,
/// so an older one is refused) and the mitigations it applied.
public struct AgentState: Codable, Sendable, Equatable {
    public var highestSerial: Int?
    public var issued: String?
    public var applied: [String]
    /// The `ETag` the accepted feed was served with: sent as `If-None-Match`, so a poll may wait
    /// for the feed to change. Absent from state files written before waiting polls.
    public var etag: String?

    public init(highestSerial: Int? = nil, issued: String? = nil, applied: [String] = [], etag: String? = nil) {
        self.highestSerial = highestSerial
        self.issued = issued
        self.applied = applied
        self.etag = etag
    }
}

/// The state file `agent-state.json` in a folder, written atomically (a temporary file, fsync,
/// rename, fsync of the folder). A missing or corrupt file starts afresh, with a log line.
///
/// The agent may run as root: a folder another user can write would let them plant a symlink
/// where the agent writes (or a state file it reads), so such a folder is refused, and the
/// temporary file is created exclusively, never through a symlink.
public struct AgentStateFile: Sendable {
    public static let name = "agent-state.json"
    public let folder: String
    public var path: String { (folder as NSString).appendingPathComponent(Self.name) }
    /// Where `save` writes before the rename: fixed per process, so a crash leaves one file behind.
    public var temporaryPath: String { path + ".tmp-\(getpid())" }

    public init(folder: String) {
        self.folder = folder
    }

    /// The saved state, or a fresh one when there is none or it is corrupt. Throws only when the
    /// folder is one the agent must not trust (see `checkFolder`).
    public func load(log: (String) -> Void) throws(AgentError) -> AgentState {
        if FileManager.default.fileExists(atPath: folder) { try checkFolder() }
        guard let data = FileManager.default.contents(atPath: path) else {
            log("no state file at \(path): starting afresh")
            return AgentState()
        }
        do {
            let state = try JSONDecoder().decode(AgentState.self, from: data)
            guard state.applied.allSatisfy(MitigationChange.isValidID) else {
                log("state file \(path) holds an invalid mitigation id: starting afresh")
                return AgentState()
            }
            return state
        } catch {
            log("state file \(path) is corrupt (\(String(describing: error).prefix(120))): starting afresh")
            return AgentState()
        }
    }

    /// `checkFolder` when the folder exists: a command that writes later refuses a bad folder
    /// before it does anything else.
    public func checkFolderIfPresent() throws(AgentError) {
        if FileManager.default.fileExists(atPath: folder) { try checkFolder() }
    }

    /// Refuses a state folder (the directory it names, symlinks followed) that is not a directory,
    /// is owned by another user (root aside), or that its group or others can write.
    public func checkFolder() throws(AgentError) {
        var info = stat()
        guard stat(folder, &info) == 0 else { throw .state("cannot read the state folder \(folder): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .state("the state folder \(folder) is not a directory") }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw .state("the state folder \(folder) is owned by user \(info.st_uid), not by the agent's user \(geteuid()) or root: chown it to the agent's user")
        }
        let mode = info.st_mode & 0o7777
        guard mode & 0o022 == 0 else {
            throw .state("the state folder \(folder) (mode \(String(mode, radix: 8))) can be written by its group or others, who could make the agent overwrite another file: chmod 700 \(folder) (or 755)")
        }
    }

    public func save(_ state: AgentState) throws(AgentError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(state) else { throw .state("cannot encode the state") }
        try write(data, to: path, mode: 0o644)
    }

    // MARK: The host credential

    /// `host-credential` beside the state: the credential enrollment gave this host, which its
    /// polls carry. Readable by the agent's user alone.
    public static let credentialName = "host-credential"
    public var credentialPath: String { (folder as NSString).appendingPathComponent(Self.credentialName) }

    /// The host's credential, nil before it enrolled.
    public func loadCredential() throws(AgentError) -> String? {
        guard FileManager.default.fileExists(atPath: credentialPath) else { return nil }
        try checkFolder()
        guard let data = FileManager.default.contents(atPath: credentialPath),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              text.hasPrefix("ocs-host_"), text.utf8.count <= 128, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { throw .state("\(credentialPath) holds no host credential: enroll again (ocs agent enroll)") }
        return text
    }

    /// Stores the credential (replacing an earlier one), mode 600.
    public func saveCredential(_ credential: String) throws(AgentError) {
        try write(Data((credential + "\n").utf8), to: credentialPath, mode: 0o600)
    }

    /// Writes `data` to `target` atomically: a temporary file made exclusively, fsync, rename,
    /// fsync of the folder (made first when missing).
    private func write(_ data: Data, to target: String, mode: mode_t) throws(AgentError) {
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw .state("cannot create \(folder): \(error.localizedDescription)")
            }
            // Whatever the umask: a folder the agent makes is one it accepts.
            chmod(folder, 0o755)
        }
        try checkFolder()
        let temporary = target + ".tmp-\(getpid())"
        // A file left by an earlier run of this pid (a crash) is removed, never written through:
        // unlink removes a symlink itself, and O_EXCL | O_NOFOLLOW create a new file or fail.
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .state("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        // The umask may have narrowed the mode, never widened it; a credential stays 600 whatever it is.
        fchmod(descriptor, mode)
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0 else {
            unlink(temporary)
            throw .state("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .state("cannot rename \(temporary) to \(target): \(reason)")
        }
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
