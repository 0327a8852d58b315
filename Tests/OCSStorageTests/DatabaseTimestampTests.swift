import Foundation
import GRDB
import Testing
@testable import OCSStorage

struct DatabaseTimestampTests {
    @Test(arguments: [0, 1_800_000_000.123, 1_800_000_059.999, 951_782_400.5, -1.5, 4_102_444_799.001, -62_200_000_000, 253_402_300_800])
    func formatsExactlyAsGRDBDoes(_ seconds: TimeInterval) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(DatabaseTimestamp(date).databaseValue == date.databaseValue)
    }

    /// Text a database may hold from before the stores wrote it (tests and migrations write
    /// `2026-01-01T00:00:00.000Z`) reads as the date GRDB reads, or as nothing where GRDB reads nothing.
    @Test(arguments: [
        "2026-01-01T00:00:00.000Z", "2026-11-23 06:07:08.9", "2026-11-23 06:07:08.12", "2026-11-23 06:07:08Z", "2026-11-23T06:07",
        "2026-11-23 06:07Z", "2026-11-23 06:07:08.123+02:00", "2026-11-23 06:07:08-05:30", "2026-11-23 06:07+00:45", "2026-11-23",
        "2026-11-23 06:07:08.", "2026-11-23 06:07:08.Z", "2026-11-23 06:07:08 Z", "2026-11-23 06:07:08+0200", "2026-11-23X06:07", "today",
    ])
    func readsAsGRDBDoes(_ text: String) throws {
        let grdb = Date.fromDatabaseValue(text.databaseValue)
        let read = DatabaseTimestamp.date(from: text)
        #expect((grdb == nil) == (read == nil), "\(text): GRDB \(String(describing: grdb)), read \(String(describing: read))")
        if let grdb, let read {
            #expect(abs(grdb.timeIntervalSince(read)) < 0.000_001, "\(text): GRDB \(grdb), read \(read)")
        }
    }
}
