import NIOCore

/// Whether a connection's socket still takes the bytes written to it: the rule behind
/// `SendStallGuard`, pure (no socket, no clock of its own), so it is tested alone.
///
/// The guard tells it every byte handed to the socket (`handed(_:)`) and, on each check, the
/// bytes still waiting in the channel for the socket to take them (NIO's
/// `bufferedWritableBytes`) and, where the kernel says (Linux `TCP_INFO`), the bytes the
/// client has acknowledged so far. A connection with nothing waiting in the channel is not
/// stalled, however long it stays so (a response fully handed over, a connection between
/// requests: other timeouts cover those). A connection with bytes waiting stalls when for
/// `limit` the socket took none of them and the client acknowledged no byte.
///
/// Both counts matter: the socket takes bytes only once a good part of its send buffer is
/// free again (Linux wakes a writer when a third is), so a client reading slowly but
/// steadily from a large buffer can leave the channel's count still for seconds, while its
/// acknowledgements move with every read.
package struct SendProgress: Sendable, Hashable {
    /// What `check` found.
    package enum Verdict: Sendable, Hashable {
        /// Nothing waits to be sent: no need to check again until something is written.
        case idle
        /// Bytes wait, and the socket took some within `limit`: check again later.
        case moving
        /// Bytes waited for `limit` and the socket took none: close the connection.
        case stalled
    }

    /// The longest the socket may take no byte while bytes wait.
    package let limit: TimeAmount
    /// Every byte handed toward the socket so far.
    package private(set) var handed: Int64 = 0
    /// Bytes the socket had taken when it was last seen taking some (or when bytes began
    /// to wait).
    private var takenAtLastMove: Int64 = 0
    /// Bytes the client had acknowledged then (nil: the kernel does not say).
    private var ackedAtLastMove: Int64?
    private var lastMove: NIODeadline
    private var waiting = false

    /// Progress of a connection opened at `now`.
    package init(limit: TimeAmount, now: NIODeadline) {
        self.limit = limit
        self.lastMove = now
    }

    /// `bytes` more were handed toward the socket.
    package mutating func handed(_ bytes: Int) {
        handed += Int64(bytes)
    }

    /// The verdict at `now`, with `buffered` bytes still waiting in the channel and `acked`
    /// bytes acknowledged by the client so far (nil: unknown).
    package mutating func check(now: NIODeadline, buffered: Int, acked: Int64? = nil) -> Verdict {
        let taken = handed - Int64(buffered)
        guard buffered > 0 else {
            waiting = false
            return .idle
        }
        let moved = taken > takenAtLastMove || (acked ?? 0) > (ackedAtLastMove ?? acked ?? 0)
        // Fewer taken than before can only mean bytes written past this guard's count (a
        // frame a handler nearer the socket wrote): a new baseline, no progress.
        takenAtLastMove = taken
        ackedAtLastMove = acked
        guard waiting else {
            // Bytes began to wait since the last check: the clock starts now.
            waiting = true
            lastMove = now
            return .moving
        }
        if moved {
            lastMove = now
            return .moving
        }
        return now - lastMove >= limit ? .stalled : .moving
    }

    /// How often the guard checks while bytes wait: a quarter of the limit (at least 10 ms),
    /// so a stall is seen between `limit` and 1.25 `limit` after the last byte moved.
    package var checkInterval: TimeAmount {
        .nanoseconds(max(10_000_000, limit.nanoseconds / 4))
    }
}
