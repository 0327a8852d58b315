import Foundation

/// What a host keeps between polls: the newest feed it accepted (its serial and issued time,
/// so an older one is refused) and the mitigations it applied.
public struct AgentState: Codable, Sendable, Equatable {
    public var highestSerial: Int?
    public var issued: String?
    public var applied: [String]

    public init(highestSerial: Int? = nil, issued: String? = nil, applied: [String] = []) {
        self.highestSerial = highestSerial
        self.issued = issued
        self.applied = applied
    }
}

/// The state file `agent-state.json` in a folder, written atomically (a temporary file, fsync,
/// rename, fsync of the folder). A missing or corrupt file starts afresh, with a log line.
public struct AgentStateFile: Sendable {
    public static let name = "agent-state.json"
    public let folder: String
    public var path: String { (folder as NSString).appendingPathComponent(Self.name) }

    public init(folder: String) {
        self.folder = folder
    }

    public func load(log: (String) -> Void) -> AgentState {
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

    public func save(_ state: AgentState) throws(AgentError) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .state("cannot create \(folder): \(error.localizedDescription)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(state) else { throw .state("cannot encode the state") }
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .state("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0 else {
            unlink(temporary)
            throw .state("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .state("cannot rename \(temporary) to \(path): \(reason)")
        }
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
