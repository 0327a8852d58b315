import Foundation
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
            for (index, action) in config.actions.enumerated() {
                var arguments: [(String, String)] = [
                    ("ConfigId", config.id), ("Index", String(index + 1)), ("Type", action.type), ("Value", action.value),
                    ("Description", action.description),
                ]
                switch action.type {
                case "DoNothing":
                    break
                case "IISUrlRewrite":
                    usesRewrite = true
                    usesIIS = true
                    guard let rule = action.rule, let input = rule["input"], let pattern = rule["pattern"], let type = rule["action"] else {
                        throw Refusal(description: "\(config.id): an IISUrlRewrite action has no complete Rule")
                    }
                    if action.scope == "Site" {
                        guard let site = action.site, !site.isEmpty else { throw Refusal(description: "\(config.id): a Site-scoped rewrite names no site") }
                        arguments.append(("Site", site))
                    }
                    // Invoke-EemsAction selects the rule by name in an XPath literal, quoted with
                    // the quote the name does not hold: a name holding both cannot be selected.
                    let name = "EEMS \(config.id).\(index + 1) \(action.value)"
                    guard !(name.contains("'") && name.contains("\"")) else {
                        throw Refusal(description: "\(config.id): a rewrite rule name holds both quote characters")
                    }
                    arguments += [("Scope", action.scope), ("InputVariable", input), ("Pattern", pattern), ("RewriteAction", type)]
                case "DisableService":
                    break
                case "DisableAppPool":
                    usesIIS = true
                default:
                    throw Refusal(description: "\(config.id): unknown action type '\(Self.printable(action.type).prefix(40))'")
                }
                let parameters = arguments.map { "-\($0.0) \(Self.literal($0.1))" }.joined(separator: " ")
                applySteps.append("Invoke-EemsAction -Mode 'Apply' \(parameters)")
                removeSteps.append("Invoke-EemsAction -Mode 'Remove' \(parameters)")
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

    /// A script as a Windows file: a UTF-8 byte-order mark (Windows PowerShell 5.1 reads a file
    /// without one in the ANSI code page) and CRLF line ends.
    public static func file(_ text: String) -> Data {
        Data([0xEF, 0xBB, 0xBF]) + Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
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

    /// The steps, as PowerShell functions, shared by every script ocs writes for Windows (the
    /// EOMT-style scripts and the Windows agent): one text, so a mitigation is applied and
    /// removed the same way whichever runs it. A script defines `$EemsStateFolder` (where the
    /// services' previous startup types are kept) and `$EemsEventSource` (`$null`: no event log)
    /// before them.
    public static let functions = """
        function Write-Step([string] $Message, [switch] $Failure) {
            Write-Host ('[{0}] {1}' -f (Get-Date -Format 'o'), $Message)
            if ($null -ne $EemsEventSource) {
                $entryType = 'Information'
                $eventId = 1000
                if ($Failure) { $entryType = 'Error'; $eventId = 1002 }
                Write-EventLog -LogName 'Application' -Source $EemsEventSource -EventId $eventId -EntryType $entryType -Message $Message
            }
        }

        # A folder only SYSTEM and the administrators may use, inheriting nothing. One that anyone
        # else owns, or holds a file anyone else owns, is refused: its owner could have planted
        # what the scripts read back, and could change its access again.
        function Protect-EemsFolder([string] $Path) {
            $trusted = @('S-1-5-18', 'S-1-5-32-544')
            if (Test-Path -LiteralPath $Path) {
                foreach ($item in @(Get-Item -LiteralPath $Path -Force) + @(Get-ChildItem -LiteralPath $Path -Recurse -Force)) {
                    $owner = (Get-Acl -LiteralPath $item.FullName).GetOwner([System.Security.Principal.SecurityIdentifier]).Value
                    if ($trusted -notcontains $owner) { throw ('{0} is owned by {1}, not SYSTEM or the administrators: remove it and run again' -f $item.FullName, $owner) }
                }
            } else {
                $null = New-Item -ItemType Directory -Path $Path
            }
            $acl = New-Object System.Security.AccessControl.DirectorySecurity
            $acl.SetAccessRuleProtection($true, $false)
            foreach ($sid in $trusted) {
                $identity = New-Object System.Security.Principal.SecurityIdentifier($sid)
                $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
                $acl.AddAccessRule($rule)
            }
            Set-Acl -LiteralPath $Path -AclObject $acl
        }

        function Test-EemsRewriteRule([string] $PSPath, [string] $Filter) {
            $null -ne (Get-WebConfigurationProperty -PSPath $PSPath -Filter $Filter -Name 'name' -ErrorAction SilentlyContinue)
        }

        # The XPath selecting a rule by name, quoted with the quote character the name does not hold.
        function Get-EemsRuleFilter([string] $Name) {
            $quote = [string] [char] 39
            if ($Name.Contains($quote)) { $quote = [string] [char] 34 }
            if ($Name.Contains($quote)) { throw ('a rewrite rule name holds both quote characters: ' + $Name) }
            'system.webServer/rewrite/rules/rule[@name=' + $quote + $Name + $quote + ']'
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

        # The startup types services had before a mitigation disabled them, by service name.
        function Get-EemsServiceRecord {
            $path = Join-Path $EemsStateFolder 'services.xml'
            if (Test-Path -LiteralPath $path) { return [hashtable] (Import-Clixml -LiteralPath $path) }
            @{}
        }

        function Save-EemsServiceRecord([hashtable] $Record) {
            Protect-EemsFolder $EemsStateFolder
            Export-Clixml -LiteralPath (Join-Path $EemsStateFolder 'services.xml') -InputObject $Record
        }

        # Names are looked up exactly: Get-Service and the IIS cmdlets would read * ? [ ] as wildcards.
        function Test-EemsExactName([string] $Name) {
            if ($Name -match '[\\*\\?\\[\\]]') { throw ('a service or app pool name holds a wildcard character: ' + $Name) }
        }

        function Disable-EemsService([string] $Name) {
            Test-EemsExactName $Name
            $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
            if ($null -eq $service) { Write-Step ('service not installed: {0}' -f $Name); return }
            $record = Get-EemsServiceRecord
            if (-not $record.ContainsKey($Name)) {
                $record[$Name] = [string] $service.StartType
                Save-EemsServiceRecord $record
                Write-Step ('service startup type recorded: {0} was {1}' -f $Name, $record[$Name])
            }
            if ($service.Status -ne 'Stopped') { Stop-Service -Name $Name -Force; Write-Step ('service stopped: {0}' -f $Name) }
            else { Write-Step ('service already stopped: {0}' -f $Name) }
            Set-Service -Name $Name -StartupType Disabled
            Write-Step ('service startup type set to Disabled: {0}' -f $Name)
        }

        # Restores the startup type recorded when the service was disabled (Automatic if none was).
        function Enable-EemsService([string] $Name) {
            Test-EemsExactName $Name
            $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
            if ($null -eq $service) { Write-Step ('service not installed: {0}' -f $Name); return }
            $record = Get-EemsServiceRecord
            $startup = 'Automatic'
            if ($record.ContainsKey($Name)) { $startup = [string] $record[$Name] }
            Set-Service -Name $Name -StartupType $startup
            Write-Step ('service startup type set to {1}: {0}' -f $Name, $startup)
            if ($record.ContainsKey($Name)) { $record.Remove($Name); Save-EemsServiceRecord $record }
            if ($startup -eq 'Disabled') { return }
            if ($service.Status -ne 'Running') { Start-Service -Name $Name; Write-Step ('service started: {0}' -f $Name) }
            else { Write-Step ('service already running: {0}' -f $Name) }
        }

        function Disable-EemsAppPool([string] $Name) {
            Test-EemsExactName $Name
            $path = 'IIS:\\AppPools\\' + $Name
            if (-not (Test-Path -LiteralPath $path)) { Write-Step ('app pool not found: {0}' -f $Name); return }
            if ((Get-WebAppPoolState -Name $Name).Value -ne 'Stopped') { Stop-WebAppPool -Name $Name; Write-Step ('app pool stopped: {0}' -f $Name) }
            else { Write-Step ('app pool already stopped: {0}' -f $Name) }
            Set-ItemProperty -LiteralPath $path -Name 'autoStart' -Value $false
            Write-Step ('app pool autoStart off: {0}' -f $Name)
        }

        function Enable-EemsAppPool([string] $Name) {
            Test-EemsExactName $Name
            $path = 'IIS:\\AppPools\\' + $Name
            if (-not (Test-Path -LiteralPath $path)) { Write-Step ('app pool not found: {0}' -f $Name); return }
            Set-ItemProperty -LiteralPath $path -Name 'autoStart' -Value $true
            Write-Step ('app pool autoStart on: {0}' -f $Name)
            if ((Get-WebAppPoolState -Name $Name).Value -ne 'Started') { Start-WebAppPool -Name $Name; Write-Step ('app pool started: {0}' -f $Name) }
            else { Write-Step ('app pool already started: {0}' -f $Name) }
        }

        # One action of a Config, applied or removed as the EM service names and places it: URL
        # Rewrite rules are named 'EEMS <Config id>.<n> <rule name>'.
        function Invoke-EemsAction {
            param(
                [Parameter(Mandatory = $true)] [ValidateSet('Apply', 'Remove')] [string] $Mode,
                [Parameter(Mandatory = $true)] [string] $ConfigId,
                [Parameter(Mandatory = $true)] [int] $Index,
                [Parameter(Mandatory = $true)] [string] $Type,
                [string] $Value = '',
                [string] $Description = '',
                [string] $Scope = '',
                [string] $Site = '',
                [string] $InputVariable = '',
                [string] $Pattern = '',
                [string] $RewriteAction = ''
            )
            Write-Step ('{0}: {1}' -f $ConfigId, $Description)
            switch -Exact -CaseSensitive ($Type) {
                'DoNothing' { Write-Step ($ConfigId + ': heartbeat, nothing to change') }
                'IISUrlRewrite' {
                    $name = 'EEMS {0}.{1} {2}' -f $ConfigId, $Index, $Value
                    $path = 'MACHINE/WEBROOT/APPHOST'
                    if ($Scope -eq 'Site') {
                        if ($Site -eq '') { throw ($ConfigId + ': a Site-scoped rewrite names no site') }
                        $path = 'IIS:\\Sites\\' + $Site
                    }
                    $filter = Get-EemsRuleFilter -Name $name
                    if ($Mode -eq 'Apply') { Add-EemsRewriteRule -PSPath $path -Name $name -Filter $filter -InputVariable $InputVariable -Pattern $Pattern -RewriteAction $RewriteAction }
                    else { Remove-EemsRewriteRule -PSPath $path -Name $name -Filter $filter }
                }
                'DisableService' { if ($Mode -eq 'Apply') { Disable-EemsService -Name $Value } else { Enable-EemsService -Name $Value } }
                'DisableAppPool' { if ($Mode -eq 'Apply') { Disable-EemsAppPool -Name $Value } else { Enable-EemsAppPool -Name $Value } }
                default { throw ($ConfigId + ': unknown action type ' + $Type) }
            }
        }

        """

    /// Where the scripts and the Windows agent keep what removing a mitigation needs (the
    /// services' startup types before they were disabled): one folder, so either may undo the other.
    static let stateVariables = "$EemsStateFolder = Join-Path $env:ProgramData 'ocs-agent'\n"

    /// The line that starts the steps: everything after it is what the script does to the host.
    public static let stepsMarker = "# --- Steps ---"

    static func script(title: String, purpose: String, header: [String], feed: FeedVerifier.VerifiedFeed, checks: String, usesIIS: Bool, steps: [String]) -> String {
        var text = "# \(title): \(purpose).\n"
        text += "# Written by `ocs agent script` from a feed whose signature it verified.\n"
        for line in header { text += "# \(line)\n" }
        text += "#Requires -RunAsAdministrator\n"
        text += "Set-StrictMode -Version 2.0\n"
        text += "$ErrorActionPreference = 'Stop'\n"
        text += stateVariables + "$EemsEventSource = $null\n\n"
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
