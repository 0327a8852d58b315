import Foundation
import OCSAgent
import OCSDomain
import OCSSigning
import OCSTestSupport
import Testing

/// The Windows agent's scripts, judged as text and by tree-sitter-powershell (PowerShell does not
/// run here): options and feed values are data, the trust is pinned, the signature is checked with
/// the pinned key only, and mitigations go through the steps every script shares.
struct WindowsAgentScriptsTests {
    static let certificate = SigningIdentity.der(SignedTestFeed.identity.certificate)

    static func scripts(server: String = "https://ocs.example.org:8443", schedule: WindowsAgentScripts.Schedule = .continuous) throws -> WindowsAgentScripts {
        try WindowsAgentScripts(server: server, trust: .certificate(certificate), schedule: schedule)
    }

    /// Values that would be code if they left a single-quoted literal: every quote PowerShell
    /// knows, backtick, subexpressions, here-string markers, and line separators of every kind.
    static let hostile = [
        "it's'; Remove-Item C:\\ -Recurse; '", "\u{2018}a\u{2019}b\u{201A}c\u{201B}", "\"; Stop-Computer; \"", "`$(Stop-Computer)`",
        "$(Remove-Item C:\\)", "@'\nStop-Computer\n'@", "'@\n$(calc)\n@'", "a\rb", "a\nb", "a\u{85}b", "a\u{2028}b", "a\u{2029}b",
    ]

    /// Runs the independent judge on `scripts`, with `values` to be found as data only.
    static func judge(_ scripts: [(name: String, text: String)], values: [String]) throws {
        let folder = try ScratchFolder()
        let valuesFile = folder.path("values.json")
        try JSONSerialization.data(withJSONObject: values).write(to: URL(fileURLWithPath: valuesFile))
        var paths: [String] = []
        for (name, text) in scripts {
            paths.append(folder.path(name))
            try MitigationScripts.file(text).write(to: URL(fileURLWithPath: paths.last!))
        }
        let judge = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../scripts/judge-powershell.py").standardized.path
        let result = try Command.run("python3", [judge, "--values", valuesFile] + paths)
        #expect(result.status == 0, "\(result.stderr)\(result.output)")
    }

    @Test func aHostileServerURLIsRefusedOrStaysData() throws {
        var accepted: [String] = []
        for value in Self.hostile + ["it's", "$(calc)", "@'", "'@", "`n"] {
            let server = "https://ocs.example.org/" + value
            do {
                let scripts = try Self.scripts(server: server)
                accepted.append(server)
                let benign = try Self.scripts(server: "https://ocs.example.org/x")
                for (hostile, plain) in zip(scripts.files, benign.files) {
                    // Nothing from the option became code.
                    #expect(MitigationScriptsTests.tokenize(hostile.text).skeleton == MitigationScriptsTests.tokenize(plain.text).skeleton, "\(hostile.name) \(value)")
                }
                try Self.judge(scripts.files, values: [server])
            } catch let refusal as WindowsAgentScripts.Refusal {
                #expect(refusal.description.hasPrefix("--server '"), "\(refusal)")
            }
        }
        // Quotes, $() and here-string markers are legal in a URL path: those reach the scripts, as data.
        #expect(accepted.contains("https://ocs.example.org/it's") && accepted.contains("https://ocs.example.org/$(calc)"))
        #expect(throws: WindowsAgentScripts.Refusal.self) { try Self.scripts(server: "https://ocs.example.org/a\nb") }
        #expect(throws: WindowsAgentScripts.Refusal.self) { try Self.scripts(server: "https://ocs.example.org/a\u{0}b") }
        #expect(throws: WindowsAgentScripts.Refusal.self) { try Self.scripts(server: "ftp://ocs.example.org") }
        // Bearer credentials over plain HTTP only when asked for.
        #expect(throws: WindowsAgentScripts.Refusal.self) { try Self.scripts(server: "http://ocs.example.org") }
        #expect(try WindowsAgentScripts(server: "http://127.0.0.1:8080", trust: .certificate(Self.certificate), schedule: .hourly, allowPlainHTTP: true).agent.contains("'http://127.0.0.1:8080'"))
    }

    @Test func feedValuesInEveryFieldStayDataByTheJudge() async throws {
        for value in Self.hostile {
            let configs = MitigationScriptsTests.feed(description: value, pattern: value, site: value, ruleName: value.replacingOccurrences(of: "\"", with: ""), service: value, appPool: value)
            let (_, scripts) = try await MitigationScriptsTests.scripts(configs)
            // XML carries no NUL and normalizes a raw CR in text: the values the feed delivers are judged.
            try Self.judge([(MitigationScripts.applyName, scripts.apply), (MitigationScripts.removeName, scripts.remove)], values: [value])
        }
    }

    @Test func theAgentPinsItsTrustAndChecksTheSignatureWithThePinnedKeyOnly() throws {
        let agent = try Self.scripts().agent
        #expect(agent.contains("$OcsTrustCertificates = @('\(Data(Self.certificate).base64EncodedString())')"))
        #expect(agent.contains("$OcsTrust = 'certificate'"))
        // CheckSignature() alone would trust the key the document carries.
        #expect(agent.contains("$signed.CheckSignature($signer, $true)") && !agent.contains("CheckSignature()"))
        for check in ["DtdProcessing]::Prohibit", "XmlResolver = $null", "$signatures.Count -ne 1", "ReferenceEquals($signature.ParentNode, $root)",
                      "$reference.Uri -ne ''", "$info.References.Count -ne 1", XMLSignatureProfile.signatureMethod, XMLSignatureProfile.envelopedSignature,
                      XMLSignatureProfile.canonicalization, XMLSignatureProfile.digestMethod] {
            #expect(agent.contains(check), "\(check)")
        }
        // Rollback and expiry, as ocs agent poll refuses them.
        #expect(agent.contains("the feed carries no expires time") && agent.contains("is lower than serial"))
        // The steps are the EOMT-style scripts' own text, not a copy of them.
        #expect(agent.contains(MitigationScripts.functions))
        #expect(agent.contains("Invoke-EemsAction -Mode $Mode @action"))
        // Identity: ExSetup.exe's version, the AD object GUID Get-ExchangeServer shows.
        #expect(agent.contains("Bin\\ExSetup.exe") && agent.contains("objectClass=msExchExchangeServer"))

        let authority = try WindowsAgentScripts(server: "https://ocs.example.org", trust: .authorities([Self.certificate, Self.certificate]), schedule: .hourly).agent
        #expect(authority.contains("$OcsTrust = 'authority'") && authority.contains("AllowUnknownCertificateAuthority"))
        // A CA's other certificates sign no feed: code signing, as ocs verify requires; the root compared whole.
        #expect(authority.contains("ApplicationPolicy.Add((New-Object System.Security.Cryptography.Oid('1.3.6.1.5.5.7.3.3')))"))
        #expect(authority.contains("[Convert]::ToBase64String($_.RawData) -ceq $top") && !authority.contains("Thumbprint"))
        // Names are compared case-sensitively, as the verifier reads them; a held feed past its expiry is not trusted on a 304.
        #expect(authority.contains("$config.LocalName -cne 'Config'") && authority.contains("'\\A[A-Za-z0-9._-]{1,64}\\z'"))
        #expect(authority.contains("the server answers 304 for a feed that expired at"))
        // A state folder someone else owns is refused, not adopted; names are never wildcards.
        #expect(authority.contains("is owned by {1}, not SYSTEM or the administrators") && authority.contains("Test-EemsExactName $Name"))
    }

    @Test func theInstallScriptSchedulesAsSystemAndEveryScriptParses() throws {
        let continuous = try Self.scripts()
        let hourly = try Self.scripts(schedule: .hourly)
        #expect(continuous.install.contains("New-ScheduledTaskPrincipal -UserId 'SYSTEM'") && continuous.install.contains("-AtStartup"))
        #expect(!continuous.install.contains("RandomDelay") && hourly.install.contains("-RepetitionInterval (New-TimeSpan -Hours 1) -RandomDelay (New-TimeSpan -Minutes 10)"))
        #expect(continuous.install.contains("Protect-EemsFolder $EemsStateFolder") && continuous.install.contains("New-EventLog -LogName 'Application'"))
        #expect(continuous.uninstall.contains("Unregister-ScheduledTask") && continuous.uninstall.contains("-RemoveAll"))
        #expect(continuous.inventoryReport.contains("Export-Clixml -LiteralPath $file -Depth 2 -Encoding UTF8"))
        #expect(continuous.inventoryReport.contains("/api/v1/inventory"))
        try Self.judge(continuous.files.map { ("continuous-" + $0.name, $0.text) } + hourly.files.map { ("hourly-" + $0.name, $0.text) }, values: ["https://ocs.example.org:8443"])
    }
}
