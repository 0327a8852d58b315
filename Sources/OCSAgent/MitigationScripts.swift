import OCSSigning

/// EOMT-style PowerShell scripts for a verified feed: `Apply-Mitigations.ps1` and `Remove-Mitigations.ps1`.
///
/// Every value from the feed reaches PowerShell as a single-quoted literal with its quotes doubled
/// (`'` and the typographic single quotes PowerShell also accepts), never inside double quotes, so
/// it is data, never code. Comments carry only the header's values, with control characters
/// replaced. URL Rewrite rules are named as the EM service names them (`EEMS M1.1 PowerShell - inbound`)
/// and added through `Add-WebConfigurationProperty` under `system.webServer/rewrite/rules`, as EOMT does.
public struct MitigationScripts: Sendable, Equatable {
    public let apply: String
    public let remove: String

    public static let applyName = "Apply-Mitigations.ps1"
    public static let removeName = "Remove-Mitigations.ps1"

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(content: FeedVerifier.VerifiedContent) throws(Refusal) {
        let feed = content.feed
        var applySteps: [String] = [], removeSteps: [String] = []
        var usesRewrite = false, usesIIS = false
        for config in content.configs {
            guard MitigationChange.isValidID(config.id) else { throw Refusal(description: "the Config id '\(Self.printable(config.id).prefix(40))' is not a mitigation id") }
            let id = Self.literal(config.id)
            for (index, action) in config.actions.enumerated() {
                let what = Self.literal("\(config.id): \(action.description)")
                switch action.type {
                case "DoNothing":
                    applySteps.append("Write-Step (\(id) + ': heartbeat, nothing to change')")
                    removeSteps.append("Write-Step (\(id) + ': heartbeat, nothing to change')")
                case "IISUrlRewrite":
                    usesRewrite = true
                    usesIIS = true
                    guard let rule = action.rule, let input = rule["input"], let pattern = rule["pattern"], let type = rule["action"] else {
                        throw Refusal(description: "\(config.id): an IISUrlRewrite action has no complete Rule")
                    }
                    let name = "EEMS \(config.id).\(index + 1) \(action.value)"
                    let path: String
                    if action.scope == "Site" {
                        guard let site = action.site, !site.isEmpty else { throw Refusal(description: "\(config.id): a Site-scoped rewrite names no site") }
                        path = "IIS:\\Sites\\" + site
                    } else {
                        path = "MACHINE/WEBROOT/APPHOST"
                    }
                    let filter = try Self.ruleFilter(name, config.id)
                    let arguments = "-PSPath \(Self.literal(path)) -Name \(Self.literal(name)) -Filter \(Self.literal(filter))"
                    applySteps.append("Write-Step \(what)")
                    applySteps.append("Add-EemsRewriteRule \(arguments) -InputVariable \(Self.literal(input)) -Pattern \(Self.literal(pattern)) -RewriteAction \(Self.literal(type))")
                    removeSteps.append("Write-Step \(what)")
                    removeSteps.append("Remove-EemsRewriteRule \(arguments)")
                case "DisableService":
                    applySteps.append("Write-Step \(what)")
                    applySteps.append("Disable-EemsService -Name \(Self.literal(action.value))")
                    removeSteps.append("Write-Step \(what)")
                    removeSteps.append("Enable-EemsService -Name \(Self.literal(action.value))")
                case "DisableAppPool":
                    usesIIS = true
                    applySteps.append("Write-Step \(what)")
                    applySteps.append("Disable-EemsAppPool -Name \(Self.literal(action.value))")
                    removeSteps.append("Write-Step \(what)")
                    removeSteps.append("Enable-EemsAppPool -Name \(Self.literal(action.value))")
                default:
                    throw Refusal(description: "\(config.id): unknown action type '\(Self.printable(action.type).prefix(40))'")
                }
            }
        }
        let header = Self.header(feed, fingerprint: content.signerFingerprint)
        apply = Self.script(
            title: Self.applyName, purpose: "applies the feed's mitigations (idempotent: what is in place is left alone)",
            header: header, feed: feed, checks: usesRewrite ? Self.rewriteModuleCheck : "", usesIIS: usesIIS, steps: applySteps
        )
        remove = Self.script(
            title: Self.removeName, purpose: "undoes what Apply-Mitigations.ps1 does (idempotent: what is absent is left alone)",
            header: header, feed: feed, checks: "", usesIIS: usesIIS, steps: removeSteps
        )
    }

    /// A PowerShell single-quoted literal: the quote characters PowerShell treats as single quotes are doubled.
    public static func literal(_ value: String) -> String {
        var result = "'"
        for scalar in value.unicodeScalars {
            switch scalar {
            case "'", "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}":
                result.unicodeScalars.append(scalar)
                result.unicodeScalars.append(scalar)
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "'"
    }

    /// Text safe inside a `#` comment: control and line-separator characters become `?`.
    static func printable(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" || scalar == "\u{85}" ? "?" : scalar
        }))
    }

    /// The XPath selecting the rule by name, quoted with whichever quote the name does not hold.
    static func ruleFilter(_ name: String, _ id: String) throws(Refusal) -> String {
        let quote: String
        if !name.contains("'") { quote = "'" } else if !name.contains("\"") { quote = "\"" } else {
            throw Refusal(description: "\(id): a rewrite rule name holds both quote characters")
        }
        return "system.webServer/rewrite/rules/rule[@name=\(quote)\(name)\(quote)]"
    }

    static func header(_ feed: FeedVerifier.VerifiedFeed, fingerprint: String) -> [String] {
        [
            "Feed serial: \(printable(feed.serial ?? "-"))",
            "Feed issued: \(printable(feed.issued ?? "-"))",
            "Signed by: \(printable(feed.signer))",
            "Signer SHA-256 fingerprint: \(fingerprint)",
            "Configs: \(feed.configIDs.isEmpty ? "none" : feed.configIDs.map(printable).joined(separator: ", "))",
        ]
    }

    static let rewriteModuleCheck = """
        # The IIS URL Rewrite module must be installed, as EOMT checks before adding rules.
        if (-not (Test-Path -LiteralPath 'HKLM:\\SOFTWARE\\Microsoft\\IIS Extensions\\URL Rewrite')) {
            Write-Step 'The IIS URL Rewrite module is not installed: install it (https://www.iis.net/downloads/microsoft/url-rewrite), then run this script again.'
            exit 1
        }

        """

    static let functions = """
        function Write-Step([string] $Message) {
            Write-Host ('[{0}] {1}' -f (Get-Date -Format 'o'), $Message)
        }

        function Test-EemsRewriteRule([string] $PSPath, [string] $Filter) {
            $null -ne (Get-WebConfigurationProperty -PSPath $PSPath -Filter $Filter -Name 'name' -ErrorAction SilentlyContinue)
        }

        function Add-EemsRewriteRule([string] $PSPath, [string] $Name, [string] $Filter, [string] $InputVariable, [string] $Pattern, [string] $RewriteAction) {
            if (Test-EemsRewriteRule -PSPath $PSPath -Filter $Filter) {
                Write-Step ('rewrite rule already present: {0} at {1}' -f $Name, $PSPath)
                return
            }
            Add-WebConfigurationProperty -PSPath $PSPath -Filter 'system.webServer/rewrite/rules' -Name '.' -Value @{ name = $Name; patternSyntax = 'Regular Expressions'; stopProcessing = 'True' }
            Set-WebConfigurationProperty -PSPath $PSPath -Filter ($Filter + '/match') -Name 'url' -Value '.*'
            Add-WebConfigurationProperty -PSPath $PSPath -Filter ($Filter + '/conditions') -Name '.' -Value @{ input = $InputVariable; matchType = '0'; pattern = $Pattern; ignoreCase = 'True'; negate = 'False' }
            Set-WebConfigurationProperty -PSPath $PSPath -Filter ($Filter + '/action') -Name 'type' -Value $RewriteAction
            Write-Step ('rewrite rule added: {0} at {1}' -f $Name, $PSPath)
        }

        function Remove-EemsRewriteRule([string] $PSPath, [string] $Name, [string] $Filter) {
            if (-not (Test-EemsRewriteRule -PSPath $PSPath -Filter $Filter)) {
                Write-Step ('rewrite rule not present: {0} at {1}' -f $Name, $PSPath)
                return
            }
            Clear-WebConfiguration -PSPath $PSPath -Filter $Filter
            Write-Step ('rewrite rule removed: {0} at {1}' -f $Name, $PSPath)
        }

        function Disable-EemsService([string] $Name) {
            $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
            if ($null -eq $service) { Write-Step ('service not installed: {0}' -f $Name); return }
            if ($service.Status -ne 'Stopped') { Stop-Service -Name $Name -Force; Write-Step ('service stopped: {0}' -f $Name) }
            else { Write-Step ('service already stopped: {0}' -f $Name) }
            Set-Service -Name $Name -StartupType Disabled
            Write-Step ('service startup type set to Disabled: {0}' -f $Name)
        }

        function Enable-EemsService([string] $Name) {
            $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
            if ($null -eq $service) { Write-Step ('service not installed: {0}' -f $Name); return }
            Set-Service -Name $Name -StartupType Automatic
            Write-Step ('service startup type set to Automatic: {0}' -f $Name)
            if ($service.Status -ne 'Running') { Start-Service -Name $Name; Write-Step ('service started: {0}' -f $Name) }
            else { Write-Step ('service already running: {0}' -f $Name) }
        }

        function Disable-EemsAppPool([string] $Name) {
            $path = 'IIS:\\AppPools\\' + $Name
            if (-not (Test-Path -LiteralPath $path)) { Write-Step ('app pool not found: {0}' -f $Name); return }
            if ((Get-WebAppPoolState -Name $Name).Value -ne 'Stopped') { Stop-WebAppPool -Name $Name; Write-Step ('app pool stopped: {0}' -f $Name) }
            else { Write-Step ('app pool already stopped: {0}' -f $Name) }
            Set-ItemProperty -LiteralPath $path -Name 'autoStart' -Value $false
            Write-Step ('app pool autoStart off: {0}' -f $Name)
        }

        function Enable-EemsAppPool([string] $Name) {
            $path = 'IIS:\\AppPools\\' + $Name
            if (-not (Test-Path -LiteralPath $path)) { Write-Step ('app pool not found: {0}' -f $Name); return }
            Set-ItemProperty -LiteralPath $path -Name 'autoStart' -Value $true
            Write-Step ('app pool autoStart on: {0}' -f $Name)
            if ((Get-WebAppPoolState -Name $Name).Value -ne 'Started') { Start-WebAppPool -Name $Name; Write-Step ('app pool started: {0}' -f $Name) }
            else { Write-Step ('app pool already started: {0}' -f $Name) }
        }

        """

    /// The line that starts the steps: everything after it is what the script does to the host.
    public static let stepsMarker = "# --- Steps ---"

    static func script(title: String, purpose: String, header: [String], feed: FeedVerifier.VerifiedFeed, checks: String, usesIIS: Bool, steps: [String]) -> String {
        var text = "# \(title): \(purpose).\n"
        text += "# Written by `ocs agent script` from a feed whose signature it verified.\n"
        for line in header { text += "# \(line)\n" }
        text += "#Requires -RunAsAdministrator\n"
        text += "Set-StrictMode -Version 2.0\n"
        text += "$ErrorActionPreference = 'Stop'\n\n"
        text += functions
        text += stepsMarker + "\n"
        text += "Write-Step (\(literal(title)) + ' for feed serial ' + \(literal(feed.serial ?? "-")) + ', issued ' + \(literal(feed.issued ?? "-")))\n"
        if usesIIS { text += "Import-Module WebAdministration\n" }
        text += checks
        text += steps.joined(separator: "\n") + (steps.isEmpty ? "" : "\n")
        text += "Write-Step 'done'\n"
        return text
    }
}
