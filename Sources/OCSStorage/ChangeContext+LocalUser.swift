import Foundation
import OCSDomain

extension ChangeContext {
    /// The command line's actor: `local:` and the account of the real user id, which `$USER`
    /// cannot fake. Under sudo (running as root) the invoking account from `$SUDO_USER` is added:
    /// `local:root (sudo from alice)`.
    public static var localUser: ChangeContext {
        ChangeContext(actor: localActor(uid: getuid(), environment: ProcessInfo.processInfo.environment))
    }

    static func localActor(uid: uid_t, environment: [String: String]) -> String {
        let account = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(uid)"
        // Only root can have come through sudo; anyone else could set SUDO_USER to anything.
        if uid == 0, let invoker = environment["SUDO_USER"], !invoker.isEmpty, invoker != account {
            return "local:\(account) (sudo from \(invoker))"
        }
        return "local:\(account)"
    }
}
