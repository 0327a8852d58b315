import Foundation
import OCSAgent
import OCSDomain
import OCSSigning
import Testing

/// The scripts judged as text (PowerShell does not run here), by a small PowerShell tokenizer of
/// our own: comments and single-quoted literals apart, the code must not change with the feed's values.
struct MitigationScriptsTests {
    static let hostile = "'; Remove-Item C:\\ -Recurse; '"

    /// The code of a script with every single-quoted literal replaced by `''` and comments dropped,
    /// and the literals' values. PowerShell closes a single-quoted string at any of ' ‘ ’ ‚ ‛; two in a row stand for one.
    static func tokenize(_ script: String) -> (skeleton: String, literals: [String]) {
        let quotes: Set<Character> = ["'", "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}"]
        let characters = Array(script)
        var skeleton = "", literals: [String] = [], index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "#" {
                while index < characters.count && characters[index] != "\n" { index += 1 }
            } else if quotes.contains(character) {
                var value = ""
                index += 1
                while index < characters.count {
                    if quotes.contains(characters[index]) {
                        if index + 1 < characters.count && quotes.contains(characters[index + 1]) {
                            value.append(characters[index])
                            index += 2
                            continue
                        }
                        break
                    }
                    value.append(characters[index])
                    index += 1
                }
                index += 1
                literals.append(value)
                skeleton += "''"
            } else {
                skeleton.append(character)
                index += 1
            }
        }
        return (skeleton, literals)
    }

    static func feed(description: String, pattern: String, site: String, ruleName: String, service: String, appPool: String) -> [Mitigation] {
        [
            Mitigation(id: "M1", description: description, state: .published, actions: [
                .iisUrlRewrite(UrlRewrite(scope: .site, site: site, rule: .init(name: ruleName, input: "{UrlDecode:{REQUEST_URI}}", pattern: pattern, action: "AbortRequest")), description: description),
                .iisUrlRewrite(UrlRewrite(scope: .server, site: nil, rule: .init(name: ruleName, input: "{REQUEST_URI}", pattern: pattern, action: "AbortRequest")), description: nil),
            ]),
            Mitigation(id: "M2", description: description, state: .published, actions: [.disableService(service, description: description)]),
            Mitigation(id: "M3", description: description, state: .published, actions: [.disableAppPool(appPool, description: description)]),
            SignedTestFeed.ping,
        ]
    }

    static func scripts(_ configs: [Mitigation]) async throws -> (FeedVerifier.VerifiedContent, MitigationScripts) {
        let content = try await SignedTestFeed.content(configs, serial: 12, issued: "2026-11-23T06:00:51Z")
        return (content, try MitigationScripts(content: content))
    }

    @Test func feedValuesStayDataWhateverQuotesTheyHold() async throws {
        let hostileValues = [
            Self.hostile, Self.hostile + "\u{2019}; Stop-Computer; \u{2018}", "Default Web Site'; $(Remove-Item C:\\); '",
            "PowerShell - inbound' or '1'='1", "MSExchangeUM\"; Remove-Item C:\\; \"", "Pool`$(whoami)\u{201B}",
        ]
        let (_, bad) = try await Self.scripts(Self.feed(description: hostileValues[0], pattern: hostileValues[1], site: hostileValues[2],
                                                        ruleName: hostileValues[3], service: hostileValues[4], appPool: hostileValues[5]))
        let (_, good) = try await Self.scripts(Self.feed(description: "Block it", pattern: ".*autodiscover\\.json.*", site: "Default Web Site",
                                                         ruleName: "PowerShell - inbound", service: "MSExchangeUM", appPool: "MSExchangeOWAAppPool"))
        for (hostile, benign) in [(bad.apply, good.apply), (bad.remove, good.remove)] {
            let hostileTokens = Self.tokenize(hostile), benignTokens = Self.tokenize(benign)
            // The same code, whatever the values: nothing from the feed became code.
            #expect(hostileTokens.skeleton == benignTokens.skeleton)
            #expect(!hostileTokens.skeleton.contains("Remove-Item") && !hostileTokens.skeleton.contains("Stop-Computer"))
            // Every hostile value arrives intact as one literal's value.
            for value in [hostileValues[0], hostileValues[2], hostileValues[4], hostileValues[5]] {
                #expect(hostileTokens.literals.contains { $0.contains(value) }, "\(value)")
            }
        }
        #expect(Self.tokenize(bad.apply).literals.contains(hostileValues[1]))
        #expect(Self.tokenize(bad.apply).literals.contains(hostileValues[3]))
        #expect(MitigationScripts.literal(Self.hostile) == "'''; Remove-Item C:\\ -Recurse; '''")
    }

    @Test func actionsBecomeEOMTStyleStepsAndTheRemoveScriptUndoesThem() async throws {
        let (verified, scripts) = try await Self.scripts(Self.feed(description: "Block it", pattern: ".*autodiscover\\.json.*Powershell.*", site: "Default Web Site",
                                                                   ruleName: "PowerShell - inbound", service: "MSExchangeUM", appPool: "MSExchangeOWAAppPool"))
        let apply = scripts.apply, remove = scripts.remove
        for script in [apply, remove] {
            #expect(script.contains("# Feed serial: 12\n# Feed issued: 2026-11-23T06:00:51Z\n"))
            #expect(script.contains("# Signer SHA-256 fingerprint: \(SigningIdentity.fingerprint(of: SignedTestFeed.identity.certificate))\n"))
            #expect(script.contains("# Configs: M1, M2, M3, PING1\n"))
            #expect(!verified.signerFingerprint.isEmpty)
        }
        let applySteps = apply.components(separatedBy: MitigationScripts.stepsMarker)[1]
        let removeSteps = remove.components(separatedBy: MitigationScripts.stepsMarker)[1]
        #expect(applySteps.contains("Invoke-EemsAction -Mode 'Apply' -ConfigId 'M1' -Index '1' -Type 'IISUrlRewrite' -Value 'PowerShell - inbound' -Description 'Block it' -Site 'Default Web Site' -Scope 'Site' -InputVariable '{UrlDecode:{REQUEST_URI}}' -Pattern '.*autodiscover\\.json.*Powershell.*' -RewriteAction 'AbortRequest'"))
        #expect(applySteps.contains("Invoke-EemsAction -Mode 'Apply' -ConfigId 'M1' -Index '2' -Type 'IISUrlRewrite' -Value 'PowerShell - inbound' -Description 'Block it' -Scope 'Server'"))
        // The steps: named and placed as the EM service does, by one function every script shares.
        #expect(apply.contains("$name = 'EEMS {0}.{1} {2}' -f $ConfigId, $Index, $Value"))
        #expect(apply.contains("$path = 'IIS:\\Sites\\' + $Site") && apply.contains("$path = 'MACHINE/WEBROOT/APPHOST'"))
        #expect(apply.contains("Add-WebConfigurationProperty -PSPath $PSPath -Filter 'system.webServer/rewrite/rules' -Name '.'"))
        #expect(applySteps.contains("Invoke-EemsAction -Mode 'Apply' -ConfigId 'M2' -Index '1' -Type 'DisableService' -Value 'MSExchangeUM'"))
        #expect(applySteps.contains("Invoke-EemsAction -Mode 'Apply' -ConfigId 'M3' -Index '1' -Type 'DisableAppPool' -Value 'MSExchangeOWAAppPool'"))
        // Disabling a service records its startup type first; enabling restores it.
        #expect(apply.contains("$record[$Name] = [string] $service.StartType") && apply.contains("Set-Service -Name $Name -StartupType $startup"))
        #expect(apply.contains("Set-Service -Name $Name -StartupType Disabled") && apply.contains("Set-ItemProperty -LiteralPath $path -Name 'autoStart' -Value $false"))
        // The URL Rewrite module is checked before any step changes something.
        let check = try #require(applySteps.range(of: "IIS Extensions\\URL Rewrite"))
        #expect(check.lowerBound < applySteps.range(of: "Invoke-EemsAction")!.lowerBound)

        #expect(removeSteps.contains("Invoke-EemsAction -Mode 'Remove' -ConfigId 'M1' -Index '1' -Type 'IISUrlRewrite' -Value 'PowerShell - inbound'"))
        #expect(removeSteps.contains("Invoke-EemsAction -Mode 'Remove' -ConfigId 'M2' -Index '1' -Type 'DisableService' -Value 'MSExchangeUM'"))
        #expect(!removeSteps.contains("-Mode 'Apply'"))
        // Idempotent: each change is guarded by a check of the current state.
        #expect(apply.contains("if (Test-EemsRewriteRule -PSPath $PSPath -Filter $Filter)"))
        #expect(remove.contains("if (-not (Test-EemsRewriteRule -PSPath $PSPath -Filter $Filter))"))
    }
}
