import ArgumentParser
import Foundation
import OCSOperations

/// Prints a list read page by page, as it arrives: `--json` as one JSON array written item by
/// item, else a table whose columns are as wide as the first page needs (later pages widen them,
/// never narrow them), so no list is ever held whole.
struct PagedOutput {
    let json: Bool
    let header: [String]
    private var widths: [Int]
    private var printedAny = false

    init(json: Bool, header: [String]) {
        self.json = json
        self.header = header
        widths = header.map(\.count)
    }

    /// Prints one page: `items` for JSON, `rows` (one cell per header column) for the table.
    mutating func print<Item: Encodable>(_ items: [Item], rows: [[String]]) {
        if json {
            for item in items {
                write((printedAny ? ",\n" : "[\n") + String(decoding: APIJSON.encode(item).dropLast(), as: UTF8.self))
                printedAny = true
            }
            return
        }
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        var lines = printedAny ? [] : [header]
        lines += rows
        write(lines.map(line).joined())
        printedAny = true
    }

    /// Ends the list (closes the JSON array; prints the header of an empty table).
    mutating func finish() {
        if json {
            write(printedAny ? "\n]\n" : "[]\n")
        } else if !printedAny {
            write(line(header))
        }
    }

    private func line(_ row: [String]) -> String {
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[column] - cell.count))
        }.joined(separator: "  ") + "\n"
    }

    private func write(_ text: String) {
        // What `print` wrote before (a host's row above its history) waits in stdio's buffer, a
        // whole block when stdout is a pipe: flush it first, so the lines keep their order.
        fflush(nil)  // every stream: naming `stdout`, a C global, is not concurrency-safe in Swift 6
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// `--stale-after`: when a host that has not polled counts as stale.
struct StalenessOptions: ParsableArguments {
    @Option(help: "Seconds without a poll after which a host counts as stale (3 hours: three missed hourly polls).")
    var staleAfter = 3 * 3600

    func validate() throws {
        guard (1...(366 * 86400)).contains(staleAfter) else { throw ValidationError("--stale-after must be between 1 and \(366 * 86400) seconds") }
    }

    /// Hosts that have not polled since this time are stale.
    var staleSince: Date { Date().addingTimeInterval(-TimeInterval(staleAfter)) }
}
