import ArgumentParser
import Foundation
import OCSAgent
import OCSDomain

/// `ocs agent enroll`: exchanges a one-time enrollment token for the host's credential.
struct AgentEnroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll this host with a one-time token; its polls then carry the credential it receives.",
        discussion: """
            The credential is stored in the state folder as host-credential (mode 600) and sent by ocs agent poll; \
            the server then counts this host's check-ins as verified, and no poll without the credential changes it. \
            Enrolling again with a new token replaces the credential (the old one stops working).
            """
    )

    @OptionGroup var connection: AgentConnectionOptions

    @Option(help: "The one-time enrollment token (ocs enrollment create); also OCS_ENROLLMENT_TOKEN, which keeps it out of the process list.")
    var token: String?

    @Option(help: "The folder holding the host's state.")
    var state: String

    @Option(help: "The host name.")
    var name: String

    @Option(name: .customLong("server-id"), help: "The host's immutable device GUID, which the credential is bound to.")
    var serverID: String

    func validate() throws {
        guard HostIdentity.normalizedGUID(serverID) != nil else { throw ValidationError("--server-id '\(serverID.prefix(60))' is not a GUID") }
        guard HostIdentity.isValidName(name) else { throw ValidationError("--name '\(name.prefix(60))' is not a host name: letters, digits, '.', '-', '_'") }
    }

    func run() async throws {
        guard let token = token ?? ProcessInfo.processInfo.environment["OCS_ENROLLMENT_TOKEN"], !token.isEmpty else {
            throw CommandFailure("give the enrollment token with --token or OCS_ENROLLMENT_TOKEN (an admin makes one: ocs enrollment create)")
        }
        let fetcher = try connection.fetcher()
        let file = AgentStateFile(folder: state)
        do {
            try file.checkFolderIfPresent()
            let identity = AgentIdentity(build: "", name: name, serverID: HostIdentity.normalizedGUID(serverID))
            let credential = try await EMAgent.enroll(with: connection.serverURL, fetcher: fetcher, as: identity, token: token)
            try file.saveCredential(credential)
        } catch {
            throw CommandFailure("enrollment failed: \(error.description)")
        }
        print("enrolled \(name): credential stored in \(file.credentialPath)")
    }
}
