import NIOCore
import Synchronization

extension RangeConnection {
    /// One connect of a `RangeConnection`: the channels it opened (one per address tried),
    /// and whether its task was cancelled. The cancel closes them, which ends the connect at
    /// once; NIO's connect future alone waits up to `connectTimeout` for a handshake that may
    /// never come (a peer whose listen queue is full, an address that drops packets).
    final class ConnectAttempt: Sendable {
        private let state = Mutex<(channels: [any Channel], cancelled: Bool)>(([], false))

        /// In the channel initializer, before the channel connects: false when the attempt
        /// was cancelled already (the channel must not connect).
        func opened(_ channel: any Channel) -> Bool {
            state.withLock { state in
                guard !state.cancelled else { return false }
                state.channels.append(channel)
                return true
            }
        }

        func cancel() {
            let channels = state.withLock { state in
                state.cancelled = true
                return state.channels
            }
            for channel in channels { channel.close(promise: nil) }
        }

        var isCancelled: Bool { state.withLock { $0.cancelled } }
    }
}
