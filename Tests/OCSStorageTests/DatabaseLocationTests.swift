import OCSStorage
import Testing

struct DatabaseLocationTests {
    typealias LocationError = DatabaseLocationError

    @Test func sqliteByPrefixOrBarePath() throws {
        #expect(try DatabaseLocation(parsing: "sqlite:data/ocs.sqlite") == .sqlite(path: "data/ocs.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:/var/lib/ocs/ocs.sqlite") == .sqlite(path: "/var/lib/ocs/ocs.sqlite"))
        #expect(try DatabaseLocation(parsing: "data/ocs.sqlite") == .sqlite(path: "data/ocs.sqlite"), "today's --db takes a bare path")
        #expect(try DatabaseLocation(parsing: "/tmp/a:b.sqlite") == .sqlite(path: "/tmp/a:b.sqlite"))
        #expect(try DatabaseLocation(parsing: "data/ocs.sqlite").description == "sqlite:data/ocs.sqlite")
    }

    @Test func postgresURLs() throws {
        #expect(try DatabaseLocation(parsing: "postgres://ocs@db.example.com:6543/feeds?sslmode=require")
            == .postgres(PostgresLocation(user: "ocs", server: .tcp(host: "db.example.com", port: 6543), database: "feeds", sslMode: .require)))
        #expect(try DatabaseLocation(parsing: "postgresql://ocs@db.example.com/feeds")
            == .postgres(PostgresLocation(user: "ocs", server: .tcp(host: "db.example.com", port: 5432), database: "feeds", sslMode: .verifyFull)),
            "postgresql:// too; port 5432 and sslmode=verify-full unless told")
        #expect(try DatabaseLocation(parsing: "postgres://ocs@127.0.0.1:5433/ocs?sslmode=disable")
            == .postgres(PostgresLocation(user: "ocs", server: .tcp(host: "127.0.0.1", port: 5433), database: "ocs", sslMode: .disable)))
        #expect(try DatabaseLocation(parsing: "postgres://ocs@[::1]:5433/ocs")
            == .postgres(PostgresLocation(user: "ocs", server: .tcp(host: "::1", port: 5433), database: "ocs", sslMode: .verifyFull)))
        #expect(try DatabaseLocation(parsing: "postgres://o%40cs@h/my%20db")
            == .postgres(PostgresLocation(user: "o@cs", server: .tcp(host: "h", port: 5432), database: "my db", sslMode: .verifyFull)))
    }

    @Test func unixSocketDirectories() throws {
        let location = PostgresLocation(user: "ocs", server: .unixSocket(directory: "/run/postgresql", port: 5432), database: "ocs", sslMode: .disable)
        #expect(try DatabaseLocation(parsing: "postgres://ocs@/ocs?host=/run/postgresql") == .postgres(location))
        #expect(try DatabaseLocation(parsing: "postgres://ocs@/ocs?host=%2Frun%2Fpostgresql&sslmode=disable") == .postgres(location))
        #expect(try DatabaseLocation(parsing: "postgres://ocs@:6000/ocs?host=/tmp/pg")
            == .postgres(PostgresLocation(user: "ocs", server: .unixSocket(directory: "/tmp/pg", port: 6000), database: "ocs", sslMode: .disable)))
        #expect(PostgresLocation.unixSocketPath(directory: "/tmp/pg", port: 6000) == "/tmp/pg/.s.PGSQL.6000")
        #expect(PostgresLocation.unixSocketPath(directory: "/tmp/pg/", port: 5432) == "/tmp/pg/.s.PGSQL.5432")
    }

    @Test func descriptionsParseBackToTheSameLocation() throws {
        for text in ["postgres://ocs@db.example.com:6543/feeds?sslmode=require", "postgres://ocs@[::1]:5433/ocs",
                     "postgres://o%40cs@h/my%20db", "postgres://ocs@:6000/ocs?host=/tmp/pg", "sqlite:x.sqlite"] {
            let location = try DatabaseLocation(parsing: text)
            #expect(try DatabaseLocation(parsing: location.description) == location, "\(location)")
        }
        #expect(try DatabaseLocation(parsing: "postgres://ocs@db.example.com/feeds").description == "postgres://ocs@db.example.com:5432/feeds?sslmode=verify-full")
    }

    /// A password is never taken from the URL, and no message repeats it.
    @Test func passwordsAreRefusedAndNeverRepeated() {
        for text in ["postgres://ocs:s3cret@db/ocs", "postgresql://ocs:@db/ocs", "postgres://ocs:s3/cret@db/ocs",
                     "postgres://ocs:s3cret@db:notaport/ocs", "postgres://ocs@db/ocs?password=s3cret", "postgres://ocs@db/ocs?sslmode=disable&password=s3cret"] {
            #expect(throws: LocationError.passwordInURL, "\(text)") { try DatabaseLocation(parsing: text) }
        }
        #expect(!LocationError.passwordInURL.description.contains("s3cret"))
        #expect(LocationError.passwordInURL.description.contains("file or the environment"))
    }

    @Test func badLocationsNameWhatIsWrong() {
        let cases: [(String, LocationError)] = [
            ("", .empty),
            ("sqlite:", .emptySQLitePath),
            ("mysql://ocs@db/ocs", .unknownScheme("mysql")),
            ("postgres://db/ocs", .missingUser),
            ("postgres://@db/ocs", .missingUser),
            ("postgres://ocs@/ocs", .missingHost),
            ("postgres://ocs@db", .missingDatabase),
            ("postgres://ocs@db/", .missingDatabase),
            ("postgres://ocs@db/a/b", .badDatabase("a/b")),
            ("postgres://ocs@db:0/ocs", .badPort("0")),
            ("postgres://ocs@db:65536/ocs", .badPort("65536")),
            ("postgres://ocs@db:pg/ocs", .badPort("pg")),
            ("postgres://ocs@db:/ocs", .badPort("")),
            ("postgres://ocs@[::1/ocs", .badHost("[::1")),
            ("postgres://ocs@db/ocs?sslmode=prefer", .unknownSSLMode("prefer")),
            ("postgres://ocs@db/ocs?sslmode=verify-ca", .unknownSSLMode("verify-ca")),
            ("postgres://ocs@db/ocs?sslmode", .parameterWithoutValue("sslmode")),
            ("postgres://ocs@db/ocs?sslmode=disable&sslmode=require", .repeatedParameter("sslmode")),
            ("postgres://ocs@db/ocs?connect_timeout=5", .unknownParameter("connect_timeout")),
            ("postgres://ocs@/ocs?host=run/postgresql", .socketDirectoryNotAbsolute("run/postgresql")),
            ("postgres://ocs@db/ocs?host=/run/postgresql", .twoHosts(host: "db", socketDirectory: "/run/postgresql")),
            ("postgres://ocs@/ocs?host=/run/postgresql&sslmode=verify-full", .tlsOnUnixSocket(.verifyFull)),
            ("postgres://ocs@db/o%zzcs", .badPercentEncoding("database name")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try DatabaseLocation(parsing: text) }
        }
        #expect(LocationError.unknownSSLMode("prefer").description == "sslmode=prefer is not one of disable, require, verify-full")
        #expect(LocationError.badPort("pg").description.contains("port pg"))
        #expect(LocationError.unknownScheme("mysql").description.contains("mysql://"))
    }
}
