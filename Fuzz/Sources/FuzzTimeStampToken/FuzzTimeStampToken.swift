import Dispatch
import Foundation
import FuzzSupport
import OCSSigning

// libFuzzer target: the input as the RFC 3161 token of a feed's `CounterSignature`, through
// `TimeStampToken` as `ocs verify --microsoft` reads it: BER (indefinite lengths, chunked OCTET
// STRINGs) into the ContentInfo, SignedData, SignerInfo and its DER signed attributes, the TSTInfo,
// then the checks (signature, digest, imprint over Microsoft's SignatureValue, the authority's
// chain to Microsoft's time-stamping root). Nothing may crash, hang or blow up memory, and a
// refusal is one line. Seeded with the token of Microsoft's feed of September 2021.

/// The SignatureValue of Microsoft's feed, which the seed token stamps: its imprint matches, so
/// mutations reach every check.
private let stamped: Data = {
    let hex = Array([
        "8c8ee3de7a97a396ee764878e69dce9debe5dc3c765097ed05e1752433dc9bec398972f35e2b2ed239c58106aaa98a8e",
        "4b56cb6883627f0bb79566adb18a69a0635efc2273585e90629b0913c7248336d8fd790c7258feaaaf5ed0031072d4f8",
        "ead17094c15f24f5172196134caac7835b39b70c1fbdad26cee06e367a1c1b45bc509dbf69cece89af497d0f5c0192ee",
        "893b8f0fdafef6706168d6340be9112ffdd66762db66dfbae6c59a2363e4d2730d92a481d074f9f223b824cdebd414d4",
        "f338061c44b26cb2f9ee6b8b44bed8d7d4078e9532cf4991b5152ec65c1cd10cd9110eb232332e1c6b46ee85b16d14fb",
        "a7de2d5ce76684f5a4158a621ccb7ff1",
    ].joined().utf8)
    return Data(stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! })
}()

@main
enum Main {
    static func main() { runFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(fuzzInput(data, size))
    // verify is async; this process does nothing else, so waiting on a semaphore is safe here.
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            _ = try await TimeStampToken(berEncoded: bytes).verify(stamping: stamped, roots: [MicrosoftRoots.timeStamping])
        } catch {
            let line = "\(error)"
            require(!line.contains(where: \.isNewline), "a refusal is not one line: \(line.debugDescription)")
        }
        done.signal()
    }
    done.wait()
    return 0
}
