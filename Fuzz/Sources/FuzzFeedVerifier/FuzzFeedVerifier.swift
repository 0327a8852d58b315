import Dispatch
import Foundation
import FuzzSupport
import OCSSigning

// libFuzzer target: a downloaded feed through `FeedVerifier`, as `ocs verify` checks it: the
// strict XML parser (UTF-8 only, no DTD, entities, comments or instructions; bounded size, depth,
// attributes and names), the signature profile, the canonical form and the digest, then the
// signature and the certificates. Nothing may crash, hang or blow up memory, and a refusal is
// one line. The signer is pinned to a certificate made once per process, so mutated copies of
// our own signed feeds and of Microsoft's reach every check up to the digest.

private let identity: SigningIdentity = {
    do {
        return try SigningIdentity.generate(commonName: "ocs fuzzing", now: Date(timeIntervalSince1970: 1_790_000_000))
    } catch {
        fatalError("cannot make the fuzzing signing identity: \(error)")
    }
}()
private let verifier = FeedVerifier(trust: .certificate(identity.certificate))
private let judgedAt = Date(timeIntervalSince1970: 1_790_000_000)

@main
enum Main {
    static func main() { runFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let document = Data(fuzzInput(data, size))
    // verify is async; this process does nothing else, so waiting on a semaphore is safe here.
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            _ = try await verifier.verify(document, at: judgedAt)
        } catch {
            let line = "\(error)"
            require(!line.contains(where: \.isNewline), "a refusal is not one line: \(line.debugDescription)")
        }
        done.signal()
    }
    done.wait()
    return 0
}
