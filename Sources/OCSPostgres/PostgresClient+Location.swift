import NIOSSL
import OCSStorage
import PostgresNIO

extension PostgresClient.Configuration {
    /// The client configuration for `location`, with `password` (from a file or the environment;
    /// nil for none, as with trust or peer authentication) and TLS as its sslmode says:
    /// - verify-full: NIOSSL's default client verification, the certificate chain against the
    ///   system's trusted roots and the server's name (the URL's host);
    /// - require: TLS without checking the certificate;
    /// - disable (and every Unix socket): no TLS.
    public init(_ location: PostgresLocation, password: String?) {
        switch location.server {
        case .tcp(let host, let port):
            let tls: TLS = switch location.sslMode {
            case .disable:
                .disable
            case .require:
                .require({
                    var configuration = TLSConfiguration.makeClientConfiguration()
                    configuration.certificateVerification = .none
                    return configuration
                }())
            case .verifyFull:
                .require(TLSConfiguration.makeClientConfiguration())
            }
            self.init(host: host, port: port, username: location.user, password: password, database: location.database, tls: tls)
        case .unixSocket(let directory, let port):
            self.init(
                unixSocketPath: PostgresLocation.unixSocketPath(directory: directory, port: port),
                username: location.user,
                password: password,
                database: location.database
            )
        }
    }
}
