import Foundation

/// Any text frame of the relay protocol (PROTOCOL-NOTES §4), in either direction,
/// recognised by its `type`. Unknown types are kept as `.unknown` (never an error).
public enum RelayMessage: Sendable, Hashable {
    /// `register_mesh` (client to relay).
    case registerMesh(RelayRegisterMesh)
    /// `join` or the older `register` (client to relay).
    case join(RelayJoin)
    /// `broadcast` (client to relay).
    case broadcast(RelayBroadcast)
    /// `direct` (client to relay).
    case direct(RelayDirect)
    /// `ping` (client to relay).
    case ping(RelayPing)
    /// `mesh_registered` (relay to client).
    case meshRegistered(RelayMeshRegistered)
    /// `error` (relay to client).
    case error(RelayErrorMessage)
    /// `joined` (relay to client).
    case joined(RelayJoined)
    /// `peers` (relay to client).
    case peers(RelayPeers)
    /// `peer_joined` (relay to client).
    case peerJoined(RelayPeerJoined)
    /// `peer_left` (relay to client).
    case peerLeft(RelayPeerLeft)
    /// `pong` (relay to client).
    case pong(RelayPong)
    /// `message`: a delivered `broadcast` or `direct` (relay to client).
    case message(RelayDelivery)
    /// A type this version does not know, with all of its fields.
    case unknown(type: String, fields: [String: JSONValue])

    /// The `type` this message is sent with.
    public var type: String {
        switch self {
        case .registerMesh: RelayRegisterMesh.messageType
        case .join(let join): join.type
        case .broadcast: RelayBroadcast.messageType
        case .direct: RelayDirect.messageType
        case .ping: RelayPing.messageType
        case .meshRegistered: RelayMeshRegistered.messageType
        case .error: RelayErrorMessage.messageType
        case .joined: RelayJoined.messageType
        case .peers: RelayPeers.messageType
        case .peerJoined: RelayPeerJoined.messageType
        case .peerLeft: RelayPeerLeft.messageType
        case .pong: RelayPong.messageType
        case .message: RelayDelivery.messageType
        case .unknown(let type, _): type
        }
    }
}

/// Encodes and decodes relay frames with the bounds of `RelayLimits`.
public enum RelayCoding {
    /// Decodes one text frame. Throws `WireError` for an oversized frame, malformed JSON, a
    /// missing `type` or a known type with invalid fields (the message names the field);
    /// returns `.unknown` for types this version does not know.
    public static func decode(_ data: Data) throws(WireError) -> RelayMessage {
        guard data.count <= RelayLimits.maxFrameBytes else {
            throw WireError(.tooLarge, "frame of \(data.count) bytes exceeds \(RelayLimits.maxFrameBytes)")
        }
        // Nesting is cut a few levels below the message bound (the envelope adds levels), and
        // the cut stays in the payload as a marker, so a catalog with one over-deep entry still
        // crosses the relay and only that entry is refused when the catalog is decoded.
        let data = JSONDepthGuard.bounded(data, maxDepth: WireLimits.maxJSONDepth + RelayLimits.envelopeDepth)
        let envelope: [String: JSONValue]
        do {
            envelope = try decoder.decode([String: JSONValue].self, from: data)
        } catch {
            throw WireError(.malformedJSON, "not a JSON object")
        }
        guard let type = envelope["type"]?.stringValue else {
            throw WireError(.missingField, "message has no string field 'type'")
        }
        switch type {
        case RelayRegisterMesh.messageType: return .registerMesh(try value(data))
        case RelayJoin.messageType, RelayJoin.legacyMessageType: return .join(try value(data))
        case RelayBroadcast.messageType: return .broadcast(try value(data))
        case RelayDirect.messageType: return .direct(try value(data))
        case RelayPing.messageType: return .ping(try value(data))
        case RelayMeshRegistered.messageType: return .meshRegistered(try value(data))
        case RelayErrorMessage.messageType: return .error(try value(data))
        case RelayJoined.messageType: return .joined(try value(data))
        case RelayPeers.messageType: return .peers(try value(data))
        case RelayPeerJoined.messageType: return .peerJoined(try value(data))
        case RelayPeerLeft.messageType: return .peerLeft(try value(data))
        case RelayPong.messageType: return .pong(try value(data))
        case RelayDelivery.messageType: return .message(try value(data))
        default: return .unknown(type: type, fields: envelope)
        }
    }

    /// Decodes one text frame given as a string.
    public static func decode(_ text: String) throws(WireError) -> RelayMessage {
        try decode(Data(text.utf8))
    }

    /// The frame's JSON: compact, keys sorted.
    public static func encode(_ message: RelayMessage) throws -> Data {
        switch message {
        case .registerMesh(let value): try WireCoding.encode(value)
        case .join(let value): try WireCoding.encode(value)
        case .broadcast(let value): try WireCoding.encode(value)
        case .direct(let value): try WireCoding.encode(value)
        case .ping(let value): try WireCoding.encode(value)
        case .meshRegistered(let value): try WireCoding.encode(value)
        case .error(let value): try WireCoding.encode(value)
        case .joined(let value): try WireCoding.encode(value)
        case .peers(let value): try WireCoding.encode(value)
        case .peerJoined(let value): try WireCoding.encode(value)
        case .peerLeft(let value): try WireCoding.encode(value)
        case .pong(let value): try WireCoding.encode(value)
        case .message(let value): try WireCoding.encode(value)
        case .unknown(_, let fields): try WireCoding.encode(fields)
        }
    }

    /// The frame as text.
    public static func encodeText(_ message: RelayMessage) throws -> String {
        String(decoding: try encode(message), as: UTF8.self)
    }

    /// A decoder that keeps `JSONDepthGuard`'s markers as strings (see `decode`).
    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.userInfo[JSONDepthGuard.keepMarkers] = true
        return decoder
    }

    /// Like `WireCoding.decode`, under the frame bound (already checked) instead of the
    /// message bound: a frame carries a whole mesh message plus its envelope.
    private static func value<T: Decodable>(_ data: Data) throws(WireError) -> T {
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw WireCoding.wireError(error)
        } catch {
            throw WireError(.malformedJSON, "\(error)")
        }
    }
}
