/// The version `ocs --version` prints; raised with each release.
enum OCSVersion {
    static let current = "0.5.0"
}
