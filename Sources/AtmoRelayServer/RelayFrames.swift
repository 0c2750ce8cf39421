import AtmoProtocol
import AtmoRelay
import Foundation
import NIOCore

/// The translation between WebSocket frames and the state machine's messages: text frames
/// through AtmoProtocol's Codable relay messages, binary frames through `RelayBinaryFrame`.
enum RelayFrames {
    /// The features this relay advertises in `joined` and `/health`.
    static let features = [RelayBinaryFrame.capability]

    // MARK: - Incoming

    /// The message a text frame carries. Never throws: a frame that is not a valid message
    /// becomes `.malformed` with the code the sender gets (`MISSING_FIELDS` for an incomplete
    /// `register_mesh`, `INVALID_MESSAGE` otherwise). A frame over `maxFrameBytes` is not
    /// parsed at all (the state machine closes it on its size).
    static func incoming(text: String, maxFrameBytes: Int) -> RelayIncomingMessage {
        guard text.utf8.count <= maxFrameBytes else {
            return .malformed(code: .invalidMessage, message: "Frame of \(text.utf8.count) bytes is too large")
        }
        let data = Data(text.utf8)
        let message: RelayMessage
        do {
            message = try RelayCoding.decode(data)
        } catch {
            if error.code == .missingField, messageType(of: data) == RelayRegisterMesh.messageType {
                return .malformed(code: .missingFields, message: "register_mesh is missing a field: \(error.message)")
            }
            return .malformed(code: .invalidMessage, message: "Invalid message: \(error.message)")
        }
        switch message {
        case .registerMesh(let register):
            return .registerMesh(
                meshID: register.meshID, meshPublicKey: register.meshPublicKey, founderProof: register.founderProof,
                nodeID: register.nodeID, name: register.name.isEmpty ? register.displayName : register.name,
                capabilities: register.capabilities)
        case .join(let join):
            return .join(
                nodeID: join.nodeID, token: join.token, capabilities: join.capabilities, name: join.name,
                tokenProblem: join.tokenError?.message)
        case .ping:
            return .ping
        case .broadcast(let broadcast):
            guard let payload = try? WireCoding.encode(broadcast.payload) else { return unencodable }
            return .broadcast(payload: payload)
        case .direct(let direct):
            guard let payload = try? WireCoding.encode(direct.payload) else { return unencodable }
            return .direct(target: direct.target, payload: payload)
        default:
            return .other(type: message.type)
        }
    }

    private static let unencodable = RelayIncomingMessage.malformed(
        code: .invalidMessage, message: "Invalid message: the payload cannot be re-encoded")

    /// The `type` of a frame that failed to decode, if it has one.
    private static func messageType(of data: Data) -> String? {
        struct Envelope: Decodable { var type: String? }
        return (try? JSONDecoder().decode(Envelope.self, from: data))?.type
    }

    /// The event a binary frame is, and the offset of its payload when it is a `direct`.
    static func incoming(binary frame: ByteBuffer) -> (event: RelayIncomingBinary, payloadOffset: Int) {
        do {
            let header = try RelayBinaryFrame.parseDirectHeader(frame.readableBytesView.prefix(2 + RelayBinaryFrame.maxNodeIDBytes))
            return (.direct(target: header.nodeID, payloadBytes: frame.readableBytes - header.length), header.length)
        } catch {
            return (.malformed(reason: error.message), 0)
        }
    }

    // MARK: - Outgoing

    /// The text frame of `message`, JSON with sorted keys. A delivery (`message`) is written
    /// around its payload's bytes as they are, without decoding them again.
    static func frame(for message: RelayOutgoingMessage) throws -> OutboundFrame {
        let wire: RelayMessage
        switch message {
        case .message(let from, let payload):
            var buffer = ByteBuffer()
            buffer.reserveCapacity(payload.count + from.utf8.count + 48)
            buffer.writeString(#"{"from":"# + MeshToken.pythonJSONString(from) + #","payload":"#)
            buffer.writeBytes(payload)
            buffer.writeString(#","type":"message"}"#)
            return OutboundFrame(kind: .text, data: buffer)
        case .meshRegistered:
            wire = .meshRegistered(RelayMeshRegistered())
        case .error(let code, let text):
            wire = .error(RelayErrorMessage(code: code.rawValue, message: text))
        case .joined(let meshID, let nodeCount):
            wire = .joined(RelayJoined(mesh: meshID, meshID: meshID, nodeCount: Int64(nodeCount), features: features))
        case .peers(let peers):
            wire = .peers(RelayPeers(peers: peers.map { peer($0, withJoinTime: true) }))
        case .peerJoined(let info):
            wire = .peerJoined(RelayPeerJoined(peer: peer(info, withJoinTime: false)))
        case .peerLeft(let nodeID):
            wire = .peerLeft(RelayPeerLeft(nodeID: nodeID))
        case .pong(let timestamp):
            wire = .pong(RelayPong(timestamp: timestamp))
        }
        return OutboundFrame(kind: .text, data: ByteBuffer(bytes: try RelayCoding.encode(wire)))
    }

    /// A peer as the wire lists it; `joined_at` in Unix seconds (fractional), as `pong`.
    private static func peer(_ info: RelayPeerInfo, withJoinTime: Bool) -> RelayPeer {
        RelayPeer(
            nodeID: info.nodeID, name: info.name, capabilities: info.capabilities, isFounder: info.isFounder,
            joinedAt: withJoinTime ? .number(Double(info.joinedAtMs) / 1000) : nil)
    }

    /// The binary frame a receiver gets for `frame` (whose payload starts at `payloadOffset`):
    /// the same layout with the sender's node id. Nil when `from` cannot be carried (the
    /// state machine refuses such senders before this).
    static func forwarded(_ frame: ByteBuffer, payloadOffset: Int, from: String) -> OutboundFrame? {
        guard let header = RelayBinaryFrame.directHeader(nodeID: from) else { return nil }
        let payloadBytes = frame.readableBytes - payloadOffset
        var buffer = ByteBuffer()
        buffer.reserveCapacity(header.count + payloadBytes)
        buffer.writeBytes(header)
        if let payload = frame.getSlice(at: frame.readerIndex + payloadOffset, length: payloadBytes) {
            buffer.writeImmutableBuffer(payload)
        }
        return OutboundFrame(kind: .binary, data: buffer)
    }

    /// A close reason that fits a close frame: at most 123 bytes of UTF-8, cut at a
    /// character boundary.
    static func closeReason(_ reason: String) -> String {
        guard reason.utf8.count > 123 else { return reason }
        var cut = ""
        for character in reason {
            guard cut.utf8.count + character.utf8.count <= 120 else { break }
            cut.append(character)
        }
        return cut + "..."
    }
}
