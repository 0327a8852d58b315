import Foundation

/// The ocs agent for Windows, as PowerShell 5.1 scripts with the organisation's trust pinned inside:
/// `OCS-Agent.ps1` (poll, verify with .NET's `SignedXml` against the pinned certificates only,
/// refuse rollback and expiry, apply and remove with `MitigationScripts.functions`, report),
/// `Install-OCSAgent.ps1` and `Uninstall-OCSAgent.ps1` (a scheduled task running as SYSTEM), and
/// `Report-ExchangeInventory.ps1` (posts `Get-ExchangeServer` hourly from a management server).
///
/// Every value from an option reaches PowerShell as a single-quoted literal (`MitigationScripts.literal`);
/// certificates are written as base64 of their DER, which holds no quote.
public struct WindowsAgentScripts: Sendable {
    /// How the agent trusts a feed's signer.
    public enum Trust: Sendable, Equatable {
        /// Signed with exactly this certificate (DER).
        case certificate([UInt8])
        /// Signed by a certificate chaining to one of these roots (DER).
        case authorities([[UInt8]])
    }

    /// When the scheduled task polls.
    public enum Schedule: String, Sendable, CaseIterable {
        /// At start, then continuously: each poll waits at the server for the next change (`Prefer: wait`).
        case continuous
        /// At start, then every hour after a random delay of up to 10 minutes, one poll each time.
        case hourly
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public let agent: String
    public let install: String
    public let uninstall: String
    public let inventoryReport: String

    public static let agentName = "OCS-Agent.ps1"
    public static let installName = "Install-OCSAgent.ps1"
    public static let uninstallName = "Uninstall-OCSAgent.ps1"
    public static let inventoryReportName = "Report-ExchangeInventory.ps1"
    /// The scheduled task and the event log source.
    static let taskName = "ocs agent"
    static let inventoryTaskName = "ocs inventory report"

    /// The files, by name, in the order to read them.
    public var files: [(name: String, text: String)] {
        [(Self.agentName, agent), (Self.installName, install), (Self.uninstallName, uninstall), (Self.inventoryReportName, inventoryReport)]
    }

    /// `server`: the ocs base URL (http or https, no query); `wait`: seconds a continuous poll
    /// waits at the server (1...3600); `timeout`: seconds for a poll besides its wait.
    /// `allowPlainHTTP`: an http:// server is refused without it, since the credentials and tokens
    /// the scripts send are bearer secrets anyone on the path could take over plain HTTP.
    public init(server: String, trust: Trust, schedule: Schedule, wait: Int = 300, timeout: Int = 60, allowPlainHTTP: Bool = false) throws(Refusal) {
        guard server.utf8.count <= 2048,
              server.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }),
              let url = URL(string: server), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host?.isEmpty == false, url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw Refusal(description: "--server '\(MitigationScripts.printable(server).prefix(80))' is not an http:// or https:// URL without a query, credentials or spaces")
        }
        guard scheme == "https" || allowPlainHTTP else {
            throw Refusal(description: "--server '\(server.prefix(80))' is plain http: the agent and the report script send bearer credentials, so give an https:// URL (or --allow-plain-http for a lab)")
        }
        guard (1...3600).contains(wait) else { throw Refusal(description: "--wait \(wait) is not 1 to 3600 seconds") }
        guard (5...600).contains(timeout) else { throw Refusal(description: "--timeout \(timeout) is not 5 to 600 seconds") }
        let certificates: [[UInt8]]
        let trustKind: String
        switch trust {
        case .certificate(let der): (certificates, trustKind) = ([der], "certificate")
        case .authorities(let ders): (certificates, trustKind) = (ders, "authority")
        }
        guard !certificates.isEmpty, certificates.allSatisfy({ !$0.isEmpty }) else { throw Refusal(description: "no certificate to pin") }
        let literal = MitigationScripts.literal
        let pinned = """
            # Pinned by `ocs agent windows`: the server, and the only signers whose feeds count.
            $OcsServer = \(literal(server))
            $OcsTrust = \(literal(trustKind))
            $OcsTrustCertificates = @(\(certificates.map { literal(Data($0).base64EncodedString()) }.joined(separator: ", ")))
            $OcsSchedule = \(literal(schedule.rawValue))
            $OcsWaitSeconds = [int] \(literal(String(wait)))
            $OcsTimeoutSeconds = [int] \(literal(String(timeout)))

            """
        agent = Self.agentScript(pinned: pinned)
        install = Self.installScript(schedule: schedule)
        uninstall = Self.uninstallScript
        inventoryReport = Self.inventoryScript(server: literal(server), timeout: timeout)
    }

    static let preamble = """
        Set-StrictMode -Version 2.0
        $ErrorActionPreference = 'Stop'
        [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12

        """

    /// HTTP with .NET's `HttpWebRequest` (Windows PowerShell 5.1's `Invoke-WebRequest` throws on
    /// 304 and reads no body of a refusal). No redirect is followed; a body over 4 MiB is refused.
    static let httpFunction = """
        function Invoke-OcsRequest([string] $Method, [string] $Url, [hashtable] $Headers, [byte[]] $Body, [string] $ContentType, [int] $TimeoutSeconds) {
            $request = [System.Net.HttpWebRequest]::Create($Url)
            $request.Method = $Method
            $request.Timeout = $TimeoutSeconds * 1000
            $request.ReadWriteTimeout = $TimeoutSeconds * 1000
            $request.AllowAutoRedirect = $false
            $request.UserAgent = 'ocs-agent-windows/1'
            foreach ($name in $Headers.Keys) { $request.Headers.Add($name, [string] $Headers[$name]) }
            if ($null -ne $Body) {
                $request.ContentType = $ContentType
                $request.ContentLength = $Body.Length
                $stream = $request.GetRequestStream()
                try { $stream.Write($Body, 0, $Body.Length) } finally { $stream.Close() }
            }
            try {
                $response = $request.GetResponse()
            } catch [System.Net.WebException] {
                if ($null -eq $_.Exception.Response) { throw }
                $response = $_.Exception.Response
            }
            try {
                $limit = 4194304
                $buffer = New-Object System.IO.MemoryStream
                $stream = $response.GetResponseStream()
                $chunk = New-Object byte[] 65536
                while (($read = $stream.Read($chunk, 0, $chunk.Length)) -gt 0) {
                    $buffer.Write($chunk, 0, $read)
                    if ($buffer.Length -gt $limit) { throw ('the answer of ' + $Url + ' is over 4 MiB') }
                }
                [pscustomobject] @{
                    Status = [int] $response.StatusCode
                    ETag = $response.Headers['ETag']
                    Body = [System.Text.Encoding]::UTF8.GetString($buffer.ToArray())
                }
            } finally {
                $response.Close()
            }
        }

        """

    static func agentScript(pinned: String) -> String {
        var text = """
            # OCS-Agent.ps1: the ocs agent for Windows, written by `ocs agent windows`.
            # Polls the ocs server as this Exchange server, verifies each feed's signature against the
            # certificates pinned below (never a key the document carries), refuses rollback and expired
            # feeds, applies and removes mitigations as Apply-Mitigations.ps1 does, and reports what it
            # applied by its next poll. Runs as SYSTEM from the scheduled task Install-OCSAgent.ps1 makes.
            #   OCS-Agent.ps1            poll as the task's schedule says (-Once: one poll, and a report poll after a change)
            #   OCS-Agent.ps1 -RemoveAll remove every mitigation it applied, restoring services' startup types
            #Requires -Version 5.1
            #Requires -RunAsAdministrator
            [CmdletBinding()]
            param([switch] $Once, [switch] $RemoveAll)

            """
        text += preamble
        text += pinned
        text += MitigationScripts.stateVariables
        text += "$EemsEventSource = \(MitigationScripts.literal(taskName))\n\n"
        text += MitigationScripts.functions
        text += httpFunction
        text += agentBody
        return text
    }

    static let agentBody = """
        $OcsFeedProfile = @{
            SignatureMethod = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
            Canonicalization = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
            Digest = 'http://www.w3.org/2001/04/xmlenc#sha256'
            Enveloped = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'
        }

        # The Exchange build: ExSetup.exe's file version, which security updates change; the setup
        # registry key records only the cumulative update, so it is the fallback.
        function Get-OcsExchangeBuild {
            $setup = Get-ItemProperty -LiteralPath 'HKLM:\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\Setup'
            $exsetup = Join-Path $setup.MsiInstallPath 'Bin\\ExSetup.exe'
            if (Test-Path -LiteralPath $exsetup) {
                $info = (Get-Item -LiteralPath $exsetup).VersionInfo
                return ('{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart, $info.FilePrivatePart)
            }
            '{0}.{1}.{2}.{3}' -f $setup.MsiProductMajor, $setup.MsiProductMinor, $setup.MsiBuildMajor, $setup.MsiBuildMinor
        }

        # The server's id: the objectGUID of its Exchange server object in Active Directory, the
        # Guid Get-ExchangeServer shows, so that a server is one host whether it polls or is reported.
        function Get-OcsServerId {
            $rootDse = [ADSI] 'LDAP://RootDSE'
            $configuration = [string] $rootDse.Properties['configurationNamingContext'][0]
            $searcher = New-Object System.DirectoryServices.DirectorySearcher
            $searcher.SearchRoot = [ADSI] ('LDAP://' + $configuration)
            $name = $env:COMPUTERNAME -replace '[^A-Za-z0-9-]', ''
            $searcher.Filter = '(&(objectClass=msExchExchangeServer)(cn=' + $name + '))'
            $null = $searcher.PropertiesToLoad.Add('objectGUID')
            $result = $searcher.FindOne()
            if ($null -eq $result) { throw ('no Exchange server object named ' + $name + ' in ' + $configuration) }
            (New-Object System.Guid -ArgumentList (, [byte[]] $result.Properties['objectguid'][0])).ToString()
        }

        function Read-OcsState {
            $path = Join-Path $EemsStateFolder 'state.xml'
            if (Test-Path -LiteralPath $path) { return [hashtable] (Import-Clixml -LiteralPath $path) }
            @{ ServerId = ''; HighestSerial = -1; Issued = ''; Expires = ''; ETag = ''; Applied = @{}; Blocked = @(); AutoApply = $true }
        }

        function Save-OcsState([hashtable] $State) {
            Protect-EemsFolder $EemsStateFolder
            Export-Clixml -LiteralPath (Join-Path $EemsStateFolder 'state.xml') -InputObject $State
        }

        # The host credential: enrolled once with the token Install-OCSAgent.ps1 left in the state
        # folder, which is deleted once used.
        function Get-OcsCredential([hashtable] $State) {
            $path = Join-Path $EemsStateFolder 'host-credential'
            if (Test-Path -LiteralPath $path) { return (Get-Content -LiteralPath $path -Raw).Trim() }
            $tokenPath = Join-Path $EemsStateFolder 'enrollment-token'
            if (-not (Test-Path -LiteralPath $tokenPath)) { throw 'not enrolled: run Install-OCSAgent.ps1 -EnrollmentToken with a token from ocs enrollment create' }
            $token = (Get-Content -LiteralPath $tokenPath -Raw).Trim()
            $body = [System.Text.Encoding]::UTF8.GetBytes((@{ serverId = $State.ServerId; server = $env:COMPUTERNAME } | ConvertTo-Json -Compress))
            $answer = Invoke-OcsRequest -Method 'POST' -Url ($OcsServer.TrimEnd('/') + '/enroll') -Headers @{ Authorization = 'Bearer ' + $token } -Body $body -ContentType 'application/json' -TimeoutSeconds $OcsTimeoutSeconds
            if ($answer.Status -ne 201) { throw ('enrollment refused (' + $answer.Status + '): ' + $answer.Body) }
            $credential = [string] ($answer.Body | ConvertFrom-Json).credential
            if (-not $credential.StartsWith('ocs-host_')) { throw 'the enrollment answer holds no host credential' }
            Set-Content -LiteralPath $path -Value $credential -Encoding ASCII
            Remove-Item -LiteralPath $tokenPath
            Write-Step ('enrolled as ' + $env:COMPUTERNAME + ', serverId ' + $State.ServerId)
            $credential
        }

        # The feed, its signature verified: read with no DTD and no resolver; exactly one Signature,
        # a child of <EOCS>, in the feed's profile (RSA-SHA256, one reference to the whole document,
        # the enveloped and C14N transforms), checked with the key of a pinned certificate only.
        function Read-OcsFeed([string] $Text) {
            Add-Type -AssemblyName System.Security
            $settings = New-Object System.Xml.XmlReaderSettings
            $settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit
            $settings.XmlResolver = $null
            $settings.MaxCharactersInDocument = 4194304
            $document = New-Object System.Xml.XmlDocument
            $document.PreserveWhitespace = $true
            $document.XmlResolver = $null
            $reader = [System.Xml.XmlReader]::Create((New-Object System.IO.StringReader($Text)), $settings)
            try { $document.Load($reader) } finally { $reader.Close() }
            $root = $document.DocumentElement
            if ($root.LocalName -cne 'EOCS' -or $root.NamespaceURI -cne '') { throw 'not a feed: the root element is not <EOCS>' }
            $names = New-Object System.Xml.XmlNamespaceManager($document.NameTable)
            $names.AddNamespace('ds', 'http://www.w3.org/2000/09/xmldsig#')
            $signatures = $document.SelectNodes('//ds:Signature', $names)
            if ($signatures.Count -ne 1) { throw ('the feed holds ' + $signatures.Count + ' signatures, not one') }
            $signature = [System.Xml.XmlElement] $signatures[0]
            if (-not [object]::ReferenceEquals($signature.ParentNode, $root)) { throw 'the signature is not a child of <EOCS>' }
            $signed = New-Object System.Security.Cryptography.Xml.SignedXml($document)
            $signed.LoadXml($signature)
            $info = $signed.SignedInfo
            if ($info.SignatureMethod -ne $OcsFeedProfile.SignatureMethod) { throw ('signature method ' + $info.SignatureMethod + ' is not RSA-SHA256') }
            if ($info.CanonicalizationMethod -ne $OcsFeedProfile.Canonicalization) { throw ('canonicalization ' + $info.CanonicalizationMethod + ' is not C14N 1.0') }
            if ($info.References.Count -ne 1) { throw 'the signature does not hold exactly one reference' }
            $reference = $info.References[0]
            if ($reference.Uri -ne '') { throw 'the reference is not to the whole document' }
            if ($reference.DigestMethod -ne $OcsFeedProfile.Digest) { throw ('digest ' + $reference.DigestMethod + ' is not SHA-256') }
            $transforms = @()
            for ($i = 0; $i -lt $reference.TransformChain.Count; $i++) { $transforms += $reference.TransformChain[$i].Algorithm }
            $expected = @($OcsFeedProfile.Enveloped, $OcsFeedProfile.Canonicalization)
            if (($transforms -join ' ') -ne ($expected -join ' ') -and ($transforms -join ' ') -ne $OcsFeedProfile.Enveloped) { throw 'the reference does not have the enveloped and C14N transforms' }
            $signer = Get-OcsTrustedSigner $signed
            if (-not $signed.CheckSignature($signer, $true)) { throw ('the signature does not verify with ' + $signer.Subject) }
            [pscustomobject] @{ Document = $document; Signer = $signer }
        }

        # The certificate whose key must have signed: the pinned one, or the document's own
        # certificate when its chain ends at a pinned authority (and is valid now).
        function Get-OcsTrustedSigner($Signed) {
            $pins = @($OcsTrustCertificates | ForEach-Object { New-Object System.Security.Cryptography.X509Certificates.X509Certificate2(, [Convert]::FromBase64String($_)) })
            $now = Get-Date
            if ($OcsTrust -ceq 'certificate') {
                if ($pins[0].NotBefore -gt $now -or $pins[0].NotAfter -lt $now) { throw ('the pinned certificate is not valid now: ' + $pins[0].NotBefore.ToString('o') + ' to ' + $pins[0].NotAfter.ToString('o')) }
                return $pins[0]
            }
            # The feed's own certificates: the first is the signer's, the rest may be intermediates.
            $carried = @()
            foreach ($clause in $Signed.KeyInfo) {
                if ($clause -is [System.Security.Cryptography.Xml.KeyInfoX509Data]) { $carried += @($clause.Certificates) }
            }
            if ($carried.Count -eq 0) { throw 'the feed carries no certificate to chain to the pinned authority' }
            $leaf = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2(, $carried[0].RawData)
            $chain = New-Object System.Security.Cryptography.X509Certificates.X509Chain
            $chain.ChainPolicy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
            $chain.ChainPolicy.VerificationFlags = [System.Security.Cryptography.X509Certificates.X509VerificationFlags]::AllowUnknownCertificateAuthority
            # Code signing, as ocs verify requires: no other certificate of the authority signs a feed.
            $null = $chain.ChainPolicy.ApplicationPolicy.Add((New-Object System.Security.Cryptography.Oid('1.3.6.1.5.5.7.3.3')))
            foreach ($pin in $pins) { $null = $chain.ChainPolicy.ExtraStore.Add($pin) }
            foreach ($extra in $carried) { $null = $chain.ChainPolicy.ExtraStore.Add((New-Object System.Security.Cryptography.X509Certificates.X509Certificate2(, $extra.RawData))) }
            $null = $chain.Build($leaf)
            foreach ($status in $chain.ChainStatus) {
                if ($status.Status -ne [System.Security.Cryptography.X509Certificates.X509ChainStatusFlags]::UntrustedRoot) { throw ('the signer certificate does not chain for code signing: ' + $status.StatusInformation) }
            }
            $top = [Convert]::ToBase64String($chain.ChainElements[$chain.ChainElements.Count - 1].Certificate.RawData)
            if (-not ($pins | Where-Object { [Convert]::ToBase64String($_.RawData) -ceq $top })) { throw ('the signer ' + $leaf.Subject + ' does not chain to a pinned authority') }
            $leaf
        }

        # Rollback and expiry, as ocs agent poll refuses them: the serial only grows, the same
        # serial carries the same issued time, and the feed must carry an expires time still ahead.
        function Test-OcsFeedOrder([hashtable] $State, $Root) {
            $expires = $Root.GetAttribute('expires')
            if ($expires -eq '') { throw 'the feed carries no expires time, so it would never expire: ocs signs one into every feed' }
            if ([DateTimeOffset]::Parse($expires, [Globalization.CultureInfo]::InvariantCulture) -le [DateTimeOffset]::UtcNow) { throw ('the feed expired at ' + $expires) }
            $serial = [long] $Root.GetAttribute('serial')
            $issued = $Root.GetAttribute('issued')
            if ($serial -lt $State.HighestSerial) { throw ('rollback: serial ' + $serial + ' is lower than serial ' + $State.HighestSerial + ' accepted before') }
            if ($serial -eq $State.HighestSerial -and $issued -ne $State.Issued) { throw ('rollback: serial ' + $serial + ' says issued ' + $issued + ', not ' + $State.Issued) }
        }

        # Each Config's actions, as Invoke-EemsAction takes them: what removing the Config needs
        # once the feed no longer carries it.
        function Get-OcsConfigs($Root) {
            $configs = [ordered] @{}
            foreach ($config in $Root.ChildNodes) {
                if ($config.NodeType -ne 'Element' -or $config.LocalName -cne 'Config' -or $config.NamespaceURI -cne '') { continue }
                $id = $config.GetAttribute('id')
                if ($id -cnotmatch '\\A[A-Za-z0-9._-]{1,64}\\z') { throw ('the Config id is not a mitigation id: ' + $id) }
                $actions = @()
                $index = 0
                foreach ($list in $config.ChildNodes) {
                    if ($list.NodeType -ne 'Element' -or $list.LocalName -cne 'ActionList' -or $list.NamespaceURI -cne '') { continue }
                    foreach ($action in $list.ChildNodes) {
                        if ($action.NodeType -ne 'Element' -or $action.LocalName -cne 'Action' -or $action.NamespaceURI -cne '') { continue }
                        $index++
                        $entry = @{ ConfigId = $id; Index = $index; Type = $action.GetAttribute('type'); Description = $action.GetAttribute('desc'); Scope = $action.GetAttribute('scope'); Site = $action.GetAttribute('site'); Value = ''; InputVariable = ''; Pattern = ''; RewriteAction = '' }
                        foreach ($child in $action.ChildNodes) {
                            if ($child.NodeType -ne 'Element' -or $child.NamespaceURI -cne '') { continue }
                            if ($child.LocalName -ceq 'Value') { $entry.Value = $child.InnerText }
                            if ($child.LocalName -ceq 'Rule') { $entry.InputVariable = $child.GetAttribute('input'); $entry.Pattern = $child.GetAttribute('pattern'); $entry.RewriteAction = $child.GetAttribute('action') }
                        }
                        $actions += $entry
                    }
                }
                $configs[$id] = $actions
            }
            $configs
        }

        function Invoke-OcsConfig([string] $Mode, [object[]] $Actions) {
            foreach ($action in $Actions) {
                if ($action.Type -eq 'IISUrlRewrite' -or $action.Type -eq 'DisableAppPool') { Import-Module WebAdministration }
                Invoke-EemsAction -Mode $Mode @action
            }
        }

        # One poll: the check-in of what the host holds, then, for a new feed, its changes.
        # True when it changed something (the next poll reports it).
        function Invoke-OcsPoll([hashtable] $State, [string] $Credential, [int] $Wait) {
            $applied = @($State.Applied.Keys | Sort-Object)
            $query = @(
                'build=' + [uri]::EscapeDataString((Get-OcsExchangeBuild)),
                'server=' + [uri]::EscapeDataString($env:COMPUTERNAME),
                'serverId=' + [uri]::EscapeDataString($State.ServerId),
                'mitigationsEnabled=' + ([string] $State.AutoApply).ToLowerInvariant(),
                'dataCollectionEnabled=false'
            )
            if ($applied.Count -gt 0) { $query += 'applied=' + [uri]::EscapeDataString($applied -join ',') }
            if (@($State.Blocked).Count -gt 0) { $query += 'blocked=' + [uri]::EscapeDataString(@($State.Blocked) -join ',') }
            $headers = @{ Authorization = 'Bearer ' + $Credential }
            if ($State.ETag -ne '') {
                $headers['If-None-Match'] = $State.ETag
                if ($Wait -gt 0) { $headers['Prefer'] = 'wait=' + $Wait }
            }
            $url = $OcsServer.TrimEnd('/') + '/getexchangemitigations?' + ($query -join '&')
            $answer = Invoke-OcsRequest -Method 'GET' -Url $url -Headers $headers -Body $null -ContentType '' -TimeoutSeconds ($Wait + $OcsTimeoutSeconds)
            if ($answer.Status -eq 304) {
                # The feed held is still current, but ocs signs a new one well before it expires:
                # a server that answers 304 past that time is not one to trust. Fetch it whole next time.
                if ($State.Expires -ne '' -and [DateTimeOffset]::Parse($State.Expires, [Globalization.CultureInfo]::InvariantCulture) -le [DateTimeOffset]::UtcNow) {
                    $State.ETag = ''
                    Save-OcsState $State
                    throw ('the server answers 304 for a feed that expired at ' + $State.Expires)
                }
                return $false
            }
            if ($answer.Status -eq 401) {
                Remove-Item -LiteralPath (Join-Path $EemsStateFolder 'host-credential') -ErrorAction SilentlyContinue
                throw 'the server refused the host credential (revoked or replaced): enroll again with Install-OCSAgent.ps1 -EnrollmentToken'
            }
            if ($answer.Status -ne 200) { throw ('the server answered ' + $answer.Status + ': ' + $answer.Body.Substring(0, [Math]::Min(300, $answer.Body.Length))) }
            $feed = Read-OcsFeed $answer.Body
            $root = $feed.Document.DocumentElement
            Test-OcsFeedOrder $State $root
            $configs = Get-OcsConfigs $root
            $changed = $false
            foreach ($id in $applied) {
                if ($configs.Contains($id)) { continue }
                Write-Step ('removing ' + $id + ': the feed no longer carries it')
                Invoke-OcsConfig 'Remove' $State.Applied[$id]
                $State.Applied.Remove($id)
                $changed = $true
            }
            if ($State.AutoApply) {
                foreach ($id in $configs.Keys) {
                    if ($State.Applied.ContainsKey($id) -or @($State.Blocked) -contains $id) { continue }
                    Write-Step ('applying ' + $id + ' from the feed of serial ' + $root.GetAttribute('serial') + ', signed by ' + $feed.Signer.Subject)
                    Invoke-OcsConfig 'Apply' $configs[$id]
                    $State.Applied[$id] = $configs[$id]
                    $changed = $true
                }
            }
            $State.HighestSerial = [long] $root.GetAttribute('serial')
            $State.Issued = $root.GetAttribute('issued')
            $State.Expires = $root.GetAttribute('expires')
            $State.ETag = [string] $answer.ETag
            Save-OcsState $State
            if ($changed) { Write-Step ('applied now: ' + ((@($State.Applied.Keys | Sort-Object)) -join ', ')) }
            $changed
        }

        function Invoke-OcsAgent {
            Protect-EemsFolder $EemsStateFolder
            $state = Read-OcsState
            if ($RemoveAll) {
                foreach ($id in @($state.Applied.Keys)) { Invoke-OcsConfig 'Remove' $state.Applied[$id]; $state.Applied.Remove($id) }
                Save-OcsState $state
                Write-Step 'every mitigation the agent applied is removed'
                return
            }
            if ($state.ServerId -eq '') { $state.ServerId = Get-OcsServerId; Save-OcsState $state }
            $credential = Get-OcsCredential $state
            $failures = 0
            while ($true) {
                try {
                    $wait = $OcsWaitSeconds
                    if ($Once -or $OcsSchedule -ne 'continuous') { $wait = 0 }
                    $changed = Invoke-OcsPoll $state $credential $wait
                    $failures = 0
                    # After a change the next poll follows at once: it reports what was applied.
                    if ($changed) { continue }
                    if ($Once -or $OcsSchedule -ne 'continuous') { return }
                } catch {
                    $failures++
                    Write-Step ('poll failed: ' + $_.Exception.Message) -Failure
                    if ($Once -or $OcsSchedule -ne 'continuous') { throw }
                    Start-Sleep -Seconds ([Math]::Min(300, 5 * [Math]::Pow(2, [Math]::Min($failures, 6))) + (Get-Random -Maximum 10))
                    if ($_.Exception.Message -like '*enroll again*') { $credential = Get-OcsCredential $state }
                }
            }
        }

        Invoke-OcsAgent

        """

    static func installScript(schedule: Schedule) -> String {
        let triggers: String
        switch schedule {
        case .continuous:
            triggers = "$triggers = @(New-ScheduledTaskTrigger -AtStartup)\n"
        case .hourly:
            triggers = """
                $hourly = New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Hours 1) -RandomDelay (New-TimeSpan -Minutes 10)
                $triggers = @((New-ScheduledTaskTrigger -AtStartup), $hourly)

                """
        }
        var text = """
            # Install-OCSAgent.ps1: installs OCS-Agent.ps1 (beside this script) as the scheduled task
            # '\\ocs\\ocs agent', running as SYSTEM at start and then \(schedule == .continuous ? "continuously (each poll waits for the next change)" : "hourly after a random delay of up to 10 minutes"),
            # with its state in ProgramData\\ocs-agent (SYSTEM and administrators only) and its events in
            # the Application log under the source 'ocs agent'. Written by `ocs agent windows`.
            #   Install-OCSAgent.ps1 -EnrollmentToken (Read-Host)   the one-time token from `ocs enrollment create`
            #Requires -Version 5.1
            #Requires -RunAsAdministrator
            [CmdletBinding()]
            param([string] $EnrollmentToken = '')

            """
        text += preamble
        text += MitigationScripts.stateVariables
        text += "$EemsEventSource = $null\n"
        text += "$OcsTaskName = \(MitigationScripts.literal(taskName))\n\n"
        text += MitigationScripts.functions
        text += """
            $source = Join-Path $PSScriptRoot 'OCS-Agent.ps1'
            if (-not (Test-Path -LiteralPath $source)) { throw ('OCS-Agent.ps1 is not beside this script: ' + $source) }
            $folder = Join-Path $env:ProgramFiles 'ocs-agent'
            Protect-EemsFolder $folder
            Copy-Item -LiteralPath $source -Destination (Join-Path $folder 'OCS-Agent.ps1') -Force
            Protect-EemsFolder $EemsStateFolder
            if ($EnrollmentToken -ne '') {
                if ($EnrollmentToken -notmatch '^ocs-enroll_[A-Za-z0-9_-]{16,120}$') { throw 'the enrollment token is not one ocs enrollment create makes' }
                Set-Content -LiteralPath (Join-Path $EemsStateFolder 'enrollment-token') -Value $EnrollmentToken -Encoding ASCII
            }
            if (-not [System.Diagnostics.EventLog]::SourceExists($OcsTaskName)) { New-EventLog -LogName 'Application' -Source $OcsTaskName }

            $agent = Join-Path $folder 'OCS-Agent.ps1'
            $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $agent + '"')

            """
        text += triggers
        text += """
            $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
            $settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -MultipleInstances IgnoreNew -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1)
            $null = Register-ScheduledTask -TaskName $OcsTaskName -TaskPath '\\ocs\\' -Action $action -Trigger $triggers -Principal $principal -Settings $settings -Force
            Start-ScheduledTask -TaskName $OcsTaskName -TaskPath '\\ocs\\'
            Write-Step ('installed ' + $agent + ' as the scheduled task \\ocs\\' + $OcsTaskName + '; its events are in the Application log')

            """
        return text
    }

    static let uninstallScript = """
        # Uninstall-OCSAgent.ps1: removes the scheduled task '\\ocs\\ocs agent' and the installed agent.
        # Mitigations it applied stay in place unless -RemoveMitigations (run before the agent is removed);
        # -RemoveState also deletes ProgramData\\ocs-agent (the host credential and what it applied).
        # Written by `ocs agent windows`.
        #Requires -Version 5.1
        #Requires -RunAsAdministrator
        [CmdletBinding()]
        param([switch] $RemoveMitigations, [switch] $RemoveState)
        Set-StrictMode -Version 2.0
        $ErrorActionPreference = 'Stop'

        $folder = Join-Path $env:ProgramFiles 'ocs-agent'
        $agent = Join-Path $folder 'OCS-Agent.ps1'
        $task = Get-ScheduledTask -TaskName 'ocs agent' -TaskPath '\\ocs\\' -ErrorAction SilentlyContinue
        if ($null -ne $task) {
            Stop-ScheduledTask -TaskName 'ocs agent' -TaskPath '\\ocs\\'
            Unregister-ScheduledTask -TaskName 'ocs agent' -TaskPath '\\ocs\\' -Confirm:$false
            Write-Host 'scheduled task removed'
        }
        if ($RemoveMitigations -and (Test-Path -LiteralPath $agent)) { & $agent -RemoveAll }
        if (Test-Path -LiteralPath $folder) { Remove-Item -LiteralPath $folder -Recurse -Force; Write-Host ('removed ' + $folder) }
        $state = Join-Path $env:ProgramData 'ocs-agent'
        if ($RemoveState -and (Test-Path -LiteralPath $state)) { Remove-Item -LiteralPath $state -Recurse -Force; Write-Host ('removed ' + $state) }

        """

    static func inventoryScript(server: String, timeout: Int) -> String {
        var text = """
            # Report-ExchangeInventory.ps1: posts what Get-ExchangeServer shows of every server (the record
            # Microsoft's EM service keeps of what it applied and blocked) to ocs, for servers that run
            # Microsoft's own EM service and never poll ocs. Run it on one Exchange management server.
            # Written by `ocs agent windows`.
            #   Report-ExchangeInventory.ps1 -Install   asks for a reporter token (ocs tokens create --role reporter),
            #                                           keeps it in ProgramData\\ocs-inventory and schedules an hourly report as SYSTEM
            #   Report-ExchangeInventory.ps1            one report now
            #Requires -Version 5.1
            #Requires -RunAsAdministrator
            [CmdletBinding()]
            param([switch] $Install, [switch] $Uninstall)

            """
        text += preamble
        text += "$OcsServer = \(server)\n"
        text += "$OcsTimeoutSeconds = [int] \(MitigationScripts.literal(String(timeout)))\n"
        text += "$OcsReportFolder = Join-Path $env:ProgramData 'ocs-inventory'\n"
        text += "$OcsTaskName = \(MitigationScripts.literal(inventoryTaskName))\n"
        text += MitigationScripts.stateVariables
        text += "$EemsEventSource = $null\n\n"
        text += MitigationScripts.functions
        text += httpFunction
        text += """
            $tokenPath = Join-Path $OcsReportFolder 'reporter-token'
            if ($Uninstall) {
                Unregister-ScheduledTask -TaskName $OcsTaskName -TaskPath '\\ocs\\' -Confirm:$false -ErrorAction SilentlyContinue
                if (Test-Path -LiteralPath $OcsReportFolder) { Remove-Item -LiteralPath $OcsReportFolder -Recurse -Force }
                Write-Step 'the hourly inventory report is removed'
                return
            }
            if ($Install) {
                $secure = Read-Host -Prompt 'reporter token (ocs tokens create --role reporter)' -AsSecureString
                $token = [Runtime.InteropServices.Marshal]::PtrToStringBSTR([Runtime.InteropServices.Marshal]::SecureStringToBSTR($secure))
                if ($token -notmatch '^[A-Za-z0-9_-]{16,200}$') { throw 'that is not an ocs API token' }
                Protect-EemsFolder $OcsReportFolder
                Set-Content -LiteralPath $tokenPath -Value $token -Encoding ASCII
                $folder = Join-Path $env:ProgramFiles 'ocs-agent'
                Protect-EemsFolder $folder
                $installed = Join-Path $folder 'Report-ExchangeInventory.ps1'
                Copy-Item -LiteralPath $PSCommandPath -Destination $installed -Force
                $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $installed + '"')
                $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Hours 1) -RandomDelay (New-TimeSpan -Minutes 10)
                $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
                $null = Register-ScheduledTask -TaskName $OcsTaskName -TaskPath '\\ocs\\' -Action $action -Trigger $trigger -Principal $principal -Force
                Write-Step ('scheduled ' + $installed + ' hourly as \\ocs\\' + $OcsTaskName)
                return
            }
            if (-not (Test-Path -LiteralPath $tokenPath)) { throw 'no reporter token: run Report-ExchangeInventory.ps1 -Install' }
            $token = (Get-Content -LiteralPath $tokenPath -Raw).Trim()
            if ($null -eq (Get-Command Get-ExchangeServer -ErrorAction SilentlyContinue)) { Add-PSSnapin Microsoft.Exchange.Management.PowerShell.SnapIn }
            # Only the properties ocs reads: a few KB a server instead of about 110, so that a report of
            # 200 servers fits in one request (the API takes 1 MiB); larger organisations post in batches.
            $properties = @('Name', 'Fqdn', 'Guid', 'AdminDisplayVersion', 'ServerRole', 'IsEdgeServer', 'MitigationsEnabled', 'MitigationsApplied', 'MitigationsBlocked', 'MitigationsAppliedTime', 'DataCollectionEnabled')
            $servers = @(Get-ExchangeServer | Select-Object -Property $properties)
            $file = Join-Path $OcsReportFolder 'report.xml'
            for ($start = 0; $start -lt $servers.Count; $start += 200) {
                $batch = $servers[$start..([Math]::Min($start + 199, $servers.Count - 1))]
                $batch | Export-Clixml -LiteralPath $file -Depth 2 -Encoding UTF8
                $body = [System.IO.File]::ReadAllBytes($file)
                $answer = Invoke-OcsRequest -Method 'POST' -Url ($OcsServer.TrimEnd('/') + '/api/v1/inventory') -Headers @{ Authorization = 'Bearer ' + $token } -Body $body -ContentType 'application/xml' -TimeoutSeconds $OcsTimeoutSeconds
                if ($answer.Status -ne 200) { throw ('ocs refused the report (' + $answer.Status + '): ' + $answer.Body.Substring(0, [Math]::Min(500, $answer.Body.Length))) }
                $result = $answer.Body | ConvertFrom-Json
                Write-Step ('reported ' + $batch.Count + ' servers: ' + $result.added + ' added, ' + $result.updated + ' updated, ' + $result.skipped + ' skipped')
            }

            """
        return text
    }
}
