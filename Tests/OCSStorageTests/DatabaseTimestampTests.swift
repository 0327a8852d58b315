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
}
