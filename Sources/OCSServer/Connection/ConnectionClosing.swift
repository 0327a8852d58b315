import NIOCore

/// What a connection runs when it closes: at most one action, the release of the poll it holds.
///
/// One per connection, replaced by each held poll rather than added to: callbacks on the channel's
/// close future are never removed, so a keep-alive client holding one short poll after another
/// would pile them up until it disconnects. A connection holds one poll at a time: the pipeline
/// handler gives it the next request only once the held one is answered.
final class ConnectionClosing: Sendable {
    private let action: NIOLoopBoundBox<(@Sendable () -> Void)?>

    init(eventLoop: any EventLoop) {
        action = NIOLoopBoundBox(nil, eventLoop: eventLoop)
    }

    /// Runs `action` when the connection closes, instead of any set before. On the connection's loop.
    func onClose(_ action: @escaping @Sendable () -> Void) {
        self.action.value = action
    }

    /// Clears the action: the poll it released was answered.
    func clear() {
        action.value = nil
    }

    /// The connection closed: runs the action, once. On the connection's loop.
    func closed() {
        let run = action.value
        action.value = nil
        run?()
    }
}
