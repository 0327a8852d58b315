import Foundation

/// One input, as libFuzzer hands it over.
public typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzTestOneInput
) -> CInt

/// Runs libFuzzer on `testOneInput` with the process's arguments, then exits with its status.
///
/// Each target has a Swift `@main` that calls this: SwiftPM links executables with their entry
/// point renamed to `<Target>_main` and aliased to `main`, which takes the place of libFuzzer's
/// own `main`; the driver it would have called is this one. Run it with `SWIFT_BACKTRACE=enable=no`
/// (run.sh does), else Swift's backtracer holds the process for up to 30 s on every finding.
public func runFuzzer(_ testOneInput: FuzzTestOneInput) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// The input as a buffer (libFuzzer may pass a null pointer for an empty input).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
}

/// A broken promise of the code under test: a finding, as a crash libFuzzer records.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
