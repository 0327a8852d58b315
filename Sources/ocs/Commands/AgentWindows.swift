import ArgumentParser
import Foundation
import OCSAgent
import OCSSigning

/// `ocs agent windows`: the Windows agent's scripts, with the organisation's trust pinned inside.
struct AgentWindows: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "windows",
        abstract: "Write the ocs agent for Windows (PowerShell 5.1) with this server and trust pinned, its install and uninstall scripts, and Report-ExchangeInventory.ps1.",
        discussion: """
            Writes OCS-Agent.ps1, Install-OCSAgent.ps1, Uninstall-OCSAgent.ps1 and Report-ExchangeInventory.ps1 to --out. \
            Copy the folder to the Exchange server and run Install-OCSAgent.ps1 -EnrollmentToken TOKEN as an administrator \
            (TOKEN from ocs enrollment create). See docs/windows-agent.md.
            """
    )

    @Option(help: "The ocs server's base URL the agent polls, e.g. https://ocs.example.org:8443 (its TLS certificate must chain to a root Windows trusts).")
    var server: String

    @OptionGroup var trust: FeedTrustOptions

    @Option(help: "continuous (each poll waits at the server for the next change) or hourly (one poll an hour, after a random delay).")
    var schedule: WindowsAgentScripts.Schedule = .continuous

    @Option(help: "Seconds a continuous poll waits at the server for a change.")
    var wait: Int = 300

    @Flag(help: "Allow an http:// --server (a lab): the scripts send bearer credentials, which plain HTTP gives to anyone on the path.")
    var allowPlainHttp = false

    @Option(help: "The folder to write the scripts to.")
    var out: String

    func run() throws {
        let pinned: WindowsAgentScripts.Trust
        do {
            if let cert = trust.cert {
                pinned = .certificate(SigningIdentity.der(try SigningIdentity.certificates(in: cert)[0]))
            } else {
                pinned = .authorities(try SigningIdentity.certificates(in: trust.ca ?? "").map(SigningIdentity.der))
            }
        } catch {
            throw CommandFailure(error.description)
        }
        let scripts: WindowsAgentScripts
        do {
            scripts = try WindowsAgentScripts(server: server, trust: pinned, schedule: schedule, wait: wait, allowPlainHTTP: allowPlainHttp)
        } catch {
            throw ValidationError(error.description)
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for (name, text) in scripts.files {
                let path = URL(fileURLWithPath: out).appendingPathComponent(name)
                try MitigationScripts.file(text).write(to: path, options: .atomic)
                print(path.path)
            }
        } catch {
            throw CommandFailure("\(out): cannot write the scripts: \(error.localizedDescription)")
        }
    }
}

extension WindowsAgentScripts.Schedule: ExpressibleByArgument {}
