import AtmoProtocol
import Foundation

/// An opaque handle for one WebSocket connection, chosen by the node layer.
public struct ConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The node layer's number for the connection.
    public let rawValue: UInt64

    /// A handle for the connection numbered `rawValue`.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "conn-\(rawValue)" }
}

/// A message a client sent, as the node layer decoded it from a text frame.
public enum RelayIncomingMessage: Sendable, Hashable {
    /// A founder registers the mesh with its public key, proving it owns the key.
    /// `meshPublicKey` is the raw Ed25519 key, `founderProof` its signature over the UTF-8 mesh id.
    case registerMesh(
        meshID: String, meshPublicKey: Data, founderProof: Data, nodeID: String, name: String, capabilities: [String])
    /// A member joins (`join` or `register` on the wire); a registered mesh needs a token.
    /// `tokenProblem` says why the token that was sent could not be read (then `token` is
    /// nil): a registered mesh answers `TOKEN_INVALID`, not `TOKEN_REQUIRED`.
    case join(nodeID: String, token: MeshToken?, capabilities: [String], name: String, tokenProblem: String? = nil)
    /// A keep-alive.
    case ping
    /// A payload (raw JSON bytes) for every other peer of the mesh.
    case broadcast(payload: Data)
    /// A payload (raw JSON bytes) for one peer of the mesh.
    case direct(target: String, payload: Data)
    /// Any other message type (including a bare `model_request`), which the relay drops.
    case other(type: String)
    /// A frame that is not a valid message (not JSON, a known type with bad fields). The
    /// sender gets an `error` with `code`; before admission the connection is also closed.
    case malformed(code: RelayErrorCode, message: String)
}

/// One admitted peer as the others see it (`peer_joined` and the `peers` list).
public struct RelayPeerInfo: Sendable, Hashable {
    /// The peer's node id, unique in its mesh.
    public var nodeID: String
    /// The peer's display name.
    public var name: String
    /// What the peer says it can do.
    public var capabilities: [String]
    /// Whether the peer was admitted by proving it owns the mesh key.
    public var isFounder: Bool
    /// When the peer was admitted, in Unix epoch milliseconds.
    public var joinedAtMs: Int64

    /// A peer described field by field.
    public init(nodeID: String, name: String, capabilities: [String], isFounder: Bool, joinedAtMs: Int64) {
        self.nodeID = nodeID
        self.name = name
        self.capabilities = capabilities
        self.isFounder = isFounder
        self.joinedAtMs = joinedAtMs
    }
}

/// A message the relay sends to a client; the node layer encodes it as a text frame.
public enum RelayOutgoingMessage: Sendable, Hashable {
    /// The registration was accepted (`{"type":"mesh_registered","success":true}`).
    case meshRegistered
    /// Something was refused; `code` is a wire code such as `TOKEN_INVALID`.
    case error(code: RelayErrorCode, message: String)
    /// The receiver is admitted to `meshID`, which now has `nodeCount` peers.
    case joined(meshID: String, nodeCount: Int)
    /// The other peers of the mesh, by node id, sent to a newcomer right after `joined`.
    case peers([RelayPeerInfo])
    /// A peer was admitted to the receiver's mesh.
    case peerJoined(RelayPeerInfo)
    /// A peer left the receiver's mesh.
    case peerLeft(nodeID: String)
    /// The answer to `ping`; `timestamp` is Unix epoch seconds.
    case pong(timestamp: Double)
    /// A broadcast or direct payload (raw JSON bytes) from the peer `from`.
    case message(from: String, payload: Data)
}

/// What the node layer must do after an event.
public enum RelayAction: Sendable, Hashable {
    /// Queue `message` on the connection (bounded; report `sendQueueFull` when it is full).
    case send(ConnectionID, RelayOutgoingMessage)
    /// Close the connection with a WebSocket close code and reason. The relay has already
    /// forgotten it: the later `disconnected` event is ignored.
    case close(ConnectionID, code: RelayCloseCode, reason: String)
    /// Store the mesh's registration durably, so it survives a restart. The connection whose
    /// event produced it (the founder's) should hear nothing more until it is stored; report
    /// a failure with `registrationNotPersisted`.
    case persistMesh(meshID: String, publicKey: Data)
    /// Forward the binary frame being handled to the connection, its header naming `from`
    /// (the sender) instead of the target (see `RelayBinaryFrame`). Queued like `send`.
    case forwardBinary(ConnectionID, from: String)
}

/// A WebSocket close code (RFC 6455 §7.4) the relay closes connections with.
public struct RelayCloseCode: Sendable, Hashable, CustomStringConvertible {
    /// The numeric code sent in the close frame.
    public let rawValue: UInt16

    /// A close code by number.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// 1000: the connection is done (replaced by a newer one of the same node, idle).
    public static let normalClosure = RelayCloseCode(1000)
    /// 1001: the relay is shutting down.
    public static let goingAway = RelayCloseCode(1001)
    /// 1008: the client broke a rule (no or bad first message, bad proof or token, flooding).
    public static let policyViolation = RelayCloseCode(1008)
    /// 1009: a frame larger than the configured limit.
    public static let messageTooBig = RelayCloseCode(1009)
    /// 1011: the relay failed (it could not store a registration).
    public static let internalError = RelayCloseCode(1011)
    /// 1013: the relay cannot serve the client now (mesh or relay full, too slow to keep up).
    public static let tryAgainLater = RelayCloseCode(1013)

    public var description: String { String(rawValue) }
}

/// The `code` of an `error` message on the wire.
public struct RelayErrorCode: Sendable, Hashable, CustomStringConvertible {
    /// The code as written on the wire.
    public let rawValue: String

    /// A code by its wire spelling.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A `register_mesh` was refused (bad proof, another key, another mesh than the URL's).
    public static let registrationFailed = RelayErrorCode("REGISTRATION_FAILED")
    /// A `join` to a registered mesh came without a token.
    public static let tokenRequired = RelayErrorCode("TOKEN_REQUIRED")
    /// A `join` came with a token that does not admit this node to this mesh now.
    public static let tokenInvalid = RelayErrorCode("TOKEN_INVALID")
    /// The first message was neither `register_mesh` nor `join`.
    public static let notJoined = RelayErrorCode("NOT_JOINED")
    /// A `register_mesh` or `join` on a connection already admitted.
    public static let alreadyJoined = RelayErrorCode("ALREADY_JOINED")
    /// A `direct` to a node id that is not in the mesh.
    public static let peerNotFound = RelayErrorCode("PEER_NOT_FOUND")
    /// The mesh has `maxPeersPerMesh` peers already.
    public static let meshFull = RelayErrorCode("MESH_FULL")
    /// The relay has `maxMeshes` meshes open already: a new one must wait.
    public static let relayFull = RelayErrorCode("RELAY_FULL")
    /// A `register_mesh` lacked a required field.
    public static let missingFields = RelayErrorCode("MISSING_FIELDS")
    /// A frame that is not a valid message (not JSON, bad fields, a bad binary header).
    public static let invalidMessage = RelayErrorCode("INVALID_MESSAGE")
    /// A binary frame to a peer that did not join with the `binary_direct` capability (or
    /// from a node whose id is too long for a binary header).
    public static let binaryNotSupported = RelayErrorCode("BINARY_NOT_SUPPORTED")

    public var description: String { rawValue }
}
