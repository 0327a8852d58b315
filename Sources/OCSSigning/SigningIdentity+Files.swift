import Foundation
import SwiftASN1
import X509
import _CryptoExtras

extension SigningIdentity {
    /// Loads an organization's key, its certificate and optionally the chain up to its root.
    /// A certificate file holding several certificates is the certificate followed by its chain.
    public static func load(keyFile: String, certificateFile: String, chainFile: String? = nil, now: Date = Date()) throws(SigningIdentityError) -> SigningIdentity {
        let keyPEM = try read(keyFile)
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM)
        } catch {
            throw .malformed(file: keyFile, reason: "not an RSA private key in PEM form (\"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\")")
        }
        let certificates = try certificates(in: certificateFile)
        let chain = try chainFile.map { file throws(SigningIdentityError) in try Self.certificates(in: file) } ?? []
        do {
            return try SigningIdentity(privateKey: key, certificate: certificates[0], chain: Array(certificates.dropFirst()) + chain, now: now)
        } catch {
            throw .unusable("\(keyFile) and \(certificateFile): \(error.description)")
        }
    }

    /// A new RSA-3072 key and a self-signed code-signing certificate for it.
    public static func generate(commonName: String, validForDays days: Int = 825, now: Date = Date()) throws -> SigningIdentity {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits3072)
        let name = try DistinguishedName {
            CommonName(commonName)
            OrganizationName("ocs")
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(TimeInterval(days) * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.codeSigning])
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return try SigningIdentity(privateKey: key, certificate: certificate, chain: [], now: now)
    }

    /// Writes the key and certificate (with chain) as PEM files readable by the owner only.
    /// Refuses to replace existing files.
    public func write(keyFile: String, certificateFile: String) throws(SigningIdentityError) {
        try Self.createFolder(of: keyFile)
        try Self.createFolder(of: certificateFile)
        try Self.create(keyFile, contents: keyPEM)
        try Self.create(certificateFile, contents: certificatesPEM)
    }

    private var keyPEM: String { privateKey.pkcs8PEMRepresentation + "\n" }

    private var certificatesPEM: String {
        ([certificate] + chain).map { certificate in
            (try? certificate.serializeAsPEM().pemString) ?? ""
        }.joined(separator: "\n") + "\n"
    }

    /// The development identity kept in `folder`: loaded when present, else created there.
    ///
    /// Safe against concurrent starts (an exclusive `flock` on `dev-signing.lock` is held while
    /// checking and creating) and against a kill at any moment: the pair is written to temporary
    /// files and renamed into place certificate first, key last, so a reader finds both files,
    /// none, or a certificate alone. A half pair (one file missing, empty or cut short, as an
    /// older version could leave) is replaced by a fresh pair; the origin says what was replaced.
    public static func development(in folder: String, now: Date = Date()) throws -> (identity: SigningIdentity, origin: DevelopmentOrigin) {
        let keyFile = (folder as NSString).appendingPathComponent(developmentKeyName)
        let certificateFile = (folder as NSString).appendingPathComponent(developmentCertificateName)
        try createFolder(of: keyFile)
        let lock = try lockExclusively((folder as NSString).appendingPathComponent(developmentLockName))
        defer { close(lock) }
        removeTemporaryFiles(in: folder)

        let key = try inspect(keyFile, "a PEM RSA private key") { text in _ = try _RSA.Signing.PrivateKey(pemRepresentation: text) }
        let certificate = try inspect(certificateFile, "a PEM certificate") { text in _ = try certificates(in: text, file: certificateFile) }
        let origin: DevelopmentOrigin
        switch (key, certificate) {
        case (.usable, .usable):
            return (try load(keyFile: keyFile, certificateFile: certificateFile, now: now), .loaded)
        case (.missing, .missing):
            origin = .created
        default:
            let problems = [(developmentKeyName, key), (developmentCertificateName, certificate)].compactMap { name, state in
                state.problem.map { "\(name) \($0)" }
            }
            origin = .replacedHalfPair(problems.joined(separator: ", "))
        }
        let identity = try generate(commonName: "ocs development feed signing", now: now)
        try identity.install(keyFile: keyFile, certificateFile: certificateFile)
        return (identity, origin)
    }

    /// How `development(in:)` came by its identity.
    public enum DevelopmentOrigin: Sendable, Equatable {
        /// Both files were there and make a valid pair.
        case loaded
        /// There was no pair: a new one was made.
        case created
        /// Half a pair was there (described, e.g. "dev-signing-cert.pem is missing"): a new pair replaced it.
        case replacedHalfPair(String)
    }

    public static let developmentKeyName = "dev-signing-key.pem"
    public static let developmentCertificateName = "dev-signing-cert.pem"
    static let developmentLockName = "dev-signing.lock"
    private static let temporaryMarker = ".tmp-"

    /// A development file as found on disk.
    private enum DevelopmentFileState {
        case missing, empty, damaged(expected: String), usable

        var problem: String? {
            switch self {
            case .missing: "is missing"
            case .empty: "was empty"
            case .damaged(let expected): "was not \(expected) (cut short?)"
            case .usable: nil
            }
        }
    }

    /// Classifies `file`; a file that exists but cannot be read is an error, never replaced.
    private static func inspect(_ file: String, _ expected: String, parse: (String) throws -> Void) throws(SigningIdentityError) -> DevelopmentFileState {
        guard FileManager.default.fileExists(atPath: file) else { return .missing }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .unreadable(file: file, reason: "permission denied or not a regular file")
        }
        let text = String(decoding: data, as: UTF8.self)
        if text.allSatisfy(\.isWhitespace) { return .empty }
        do {
            try parse(text)
            return .usable
        } catch {
            return .damaged(expected: expected)
        }
    }

    /// Puts the pair in place so a kill at any moment leaves a loadable pair, nothing, or a
    /// certificate alone (a half pair): the old files go first, then the certificate, the key last.
    private func install(keyFile: String, certificateFile: String) throws(SigningIdentityError) {
        let suffix = "\(Self.temporaryMarker)\(getpid())-\(UUID().uuidString)"
        let temporaryKey = Self.temporaryPath(for: keyFile, suffix), temporaryCertificate = Self.temporaryPath(for: certificateFile, suffix)
        try Self.create(temporaryCertificate, contents: certificatesPEM)
        try Self.create(temporaryKey, contents: keyPEM)
        for file in [keyFile, certificateFile] where unlink(file) != 0 && errno != ENOENT {
            throw .cannotWrite(file: file, reason: "cannot remove the half pair: \(String(cString: strerror(errno)))")
        }
        for (temporary, file) in [(temporaryCertificate, certificateFile), (temporaryKey, keyFile)] where rename(temporary, file) != 0 {
            throw .cannotWrite(file: file, reason: String(cString: strerror(errno)))
        }
        // The renames are durable once the folder itself is on disk.
        let folder = open((keyFile as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// `.dev-signing-key.pem.tmp-PID-UUID` beside `file`: hidden, and never taken for the real file.
    private static func temporaryPath(for file: String, _ suffix: String) -> String {
        let url = URL(fileURLWithPath: file)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + suffix).path
    }

    /// Temporary files a killed start left behind; only called under the lock, when no one writes.
    private static func removeTemporaryFiles(in folder: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names where name.contains(temporaryMarker)
            && [developmentKeyName, developmentCertificateName].contains(where: { name.hasPrefix("." + $0) }) {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    /// Waits for, then holds, an exclusive `flock` on `file`; released when the descriptor is
    /// closed or the process dies, so a killed start never blocks the next one.
    private static func lockExclusively(_ file: String) throws(SigningIdentityError) -> Int32 {
        let descriptor = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotWrite(file: file, reason: String(cString: strerror(errno))) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw .cannotWrite(file: file, reason: "cannot lock: \(reason)")
            }
        }
        return descriptor
    }

    /// Every certificate in a PEM file, in file order; at least one.
    public static func certificates(in file: String) throws(SigningIdentityError) -> [Certificate] {
        try certificates(in: try read(file), file: file)
    }

    /// Every certificate in PEM `text` read from `file`; at least one.
    private static func certificates(in text: String, file: String) throws(SigningIdentityError) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw .malformed(file: file, reason: notCertificates)
        }
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() {
            do {
                certificates.append(try Certificate(pemDocument: document))
            } catch {
                throw .malformed(file: file, reason: "PEM block \(index + 1) is not a valid X.509 certificate")
            }
        }
        guard !certificates.isEmpty else {
            throw .malformed(file: file, reason: notCertificates)
        }
        return certificates
    }

    private static let notCertificates = "holds no PEM certificate (expected \"BEGIN CERTIFICATE\" blocks)"

    private static func read(_ file: String) throws(SigningIdentityError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "not readable UTF-8 text" : "no such file"
            throw .unreadable(file: file, reason: reason)
        }
    }

    private static func createFolder(of file: String) throws(SigningIdentityError) {
        let folder = (file as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
        } catch {
            throw .cannotWrite(file: file, reason: error.localizedDescription)
        }
    }

    private static func create(_ file: String, contents: String) throws(SigningIdentityError) {
        // O_EXCL: never replace a key; 0600 from the first byte, not chmod after the fact.
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw .cannotWrite(file: file, reason: errno == EEXIST ? "the file exists; move it away first" : String(cString: strerror(errno)))
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(contents.utf8))
            try handle.synchronize()
        } catch {
            throw .cannotWrite(file: file, reason: error.localizedDescription)
        }
    }
}
