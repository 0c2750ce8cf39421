import AtmoProtocol
import Foundation

/// A binary frame, as the node layer read its header (`RelayBinaryFrame`).
public enum RelayIncomingBinary: Sendable, Hashable {
    /// A `direct` frame for the peer `target`, carrying `payloadBytes` opaque bytes.
    case direct(target: String, payloadBytes: Int)
    /// A header the relay does not understand (another kind, a bad length or node id).
    case malformed(reason: String)
}

extension RelayState {
    /// A binary frame of `frameBytes` bytes arrived on `conn` at `now`.
    ///
    /// - Frames over `maxBinaryFrameBytes` close the connection with 1009; before admission a
    ///   binary frame is refused like any other message (`NOT_JOINED`, 1008).
    /// - A `direct` frame to a peer that joined with the `binary_direct` capability is
    ///   forwarded (`forwardBinary`) without taking from the message rate: bulk data is
    ///   bounded by the frame size and the receiver's send queue instead.
    /// - A frame the relay cannot forward (malformed, unknown target, a target without
    ///   `binary_direct`) answers a text `error` and does take from the rate, so errors
    ///   cannot be provoked faster than messages.
    public mutating func received(
        binary frame: RelayIncomingBinary, on conn: ConnectionID, frameBytes: Int, now: Int64
    ) -> [RelayAction] {
        guard var connection = connections[conn] else { return [] }
        guard frameBytes <= configuration.maxBinaryFrameBytes else {
            return close(
                conn, code: .messageTooBig,
                reason: "binary frame of \(frameBytes) bytes exceeds the limit of \(configuration.maxBinaryFrameBytes)")
        }
        connection.lastMessageMs = now
        connections[conn] = connection
        guard let sender = connection.member else {
            return refuse(
                conn, .notJoined, "The first message must be register_mesh or join",
                reason: "binary frame before register_mesh or join")
        }
        switch frame {
        case .malformed(let reason):
            counters.messagesDropped += 1
            return answerBinary(conn, .invalidMessage, "Invalid binary frame: \(reason)", now: now)
        case .direct(let target, let payloadBytes):
            guard let targetConn = rooms[connection.meshID]?[target], let receiver = connections[targetConn]?.member
            else {
                return answerBinary(conn, .peerNotFound, "Peer \(target) not found", now: now)
            }
            guard receiver.capabilities.contains(RelayBinaryFrame.capability) else {
                return answerBinary(
                    conn, .binaryNotSupported,
                    "Peer \(target) does not accept binary frames (it did not join with \(RelayBinaryFrame.capability))",
                    now: now)
            }
            guard RelayBinaryFrame.directHeader(nodeID: sender.nodeID) != nil else {
                return answerBinary(
                    conn, .binaryNotSupported,
                    "Binary frames need a node id of at most \(RelayBinaryFrame.maxNodeIDBytes) bytes", now: now)
            }
            countRelayed(1, payloadBytes: payloadBytes)
            return [.forwardBinary(targetConn, from: sender.nodeID)]
        }
    }

    /// An `error` for a binary frame that could not be forwarded; it takes a token of the
    /// message rate, and closes the connection with 1008 when none is left.
    mutating func answerBinary(_ conn: ConnectionID, _ code: RelayErrorCode, _ message: String, now: Int64) -> [RelayAction] {
        guard connections[conn]?.bucket.take(now: Self.bucketTime(now)) == true else {
            let rate = Int(configuration.messagesPerSecond)
            return close(conn, code: .policyViolation, reason: "rate limit exceeded: more than \(rate) messages/s")
        }
        return [.send(conn, .error(code: code, message: message))]
    }
}
