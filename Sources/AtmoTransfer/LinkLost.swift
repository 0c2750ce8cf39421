/// The `underlying` cause of a `TransferError` (`.peerUnreachable`) when the connection that
/// carried a request was lost, not refused or timed out by the peer: a relay that went away
/// mid-piece, say. The request is failed at once, so that a swarm gives its pieces to other
/// sources without waiting for the link to come back, and the peer is not blamed for it
/// (`SwarmSchedule.Failure.linkLost`). A pull with no other source asks again once a route
/// is back (the channel waits for one before each request).
public struct LinkLost: Error, Sendable, CustomStringConvertible {
    /// What was lost, for logs: e.g. "the relay connection closed".
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

extension TransferError {
    /// A `.peerUnreachable` failure whose cause is a lost link (`LinkLost`).
    public static func linkLost(_ message: String, reason: String) -> TransferError {
        TransferError(.peerUnreachable, message, underlying: LinkLost(reason))
    }

    /// Whether this failure is a lost link rather than something the peer did.
    public var isLinkLost: Bool { underlying is LinkLost }
}
