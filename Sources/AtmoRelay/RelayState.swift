import AtmoProtocol
import Foundation

/// The Atmosphere relay as a pure state machine: events in, `RelayAction`s out, time passed
/// in as Unix epoch milliseconds, signatures checked by an injected `RelaySignatureVerifier`.
/// It does no I/O; the node layer owns the WebSocket server, the bounded send queues and the
/// database, and feeds their events here (one instance behind a `Mutex`).
///
/// - A connection names its mesh in the URL (`/relay/{mesh_id}`) and must send
///   `register_mesh` or `join` within `firstMessageTimeoutMs`, else it is closed with 1008;
///   any other first message is refused.
/// - `register_mesh` always needs a valid founder proof, also for a mesh already registered,
///   and a registered mesh keeps its key: another key is refused (`REGISTRATION_FAILED`).
/// - `join` to a registered mesh needs a token for that mesh (the URL's), signed by its key,
///   not expired, for this node or any node (`TOKEN_REQUIRED`, `TOKEN_INVALID`, then 1008).
///   An unregistered mesh admits anyone.
/// - Admission replaces an older connection of the same node, tells the others
///   `peer_joined`, and sends the newcomer `joined` then `peers`.
/// - Frames over `maxFrameBytes`, message rates over the token bucket, idle peers and slow
///   consumers (`sendQueueFull`) are closed; the others are told `peer_left`.
/// - Binary `direct` frames (`received(binary:on:frameBytes:now:)`) are forwarded only to
///   peers that joined with `binary_direct`, outside the message rate but within
///   `maxBinaryFrameBytes`; a malformed frame is answered with `INVALID_MESSAGE`.
public struct RelayState: Sendable {
    /// One open connection.
    struct Connection: Sendable {
        let meshID: String
        let connectedAtMs: Int64
        var lastMessageMs: Int64
        var bucket: TokenBucket
        /// Nil until `register_mesh` or `join` admitted it.
        var member: RelayPeerInfo?
    }

    /// The limits this relay was made with.
    public let configuration: RelayConfiguration
    /// Counters for `/stats` (the gauges are computed by `statistics`).
    var counters = RelayStatistics()

    let verifier: any RelaySignatureVerifier
    /// Mesh id to its public key, persisted by the node.
    var registeredMeshes: [String: Data]
    var connections: [ConnectionID: Connection] = [:]
    /// Mesh id to its admitted peers, node id to connection; a mesh with no peer is removed.
    var rooms: [String: [String: ConnectionID]] = [:]

    /// A relay that knows the registrations persisted before a restart (mesh id to raw
    /// Ed25519 public key); they are enforced exactly like new ones.
    public init(
        registeredMeshes: [String: Data] = [:], configuration: RelayConfiguration = RelayConfiguration(),
        verifier: any RelaySignatureVerifier
    ) {
        self.registeredMeshes = registeredMeshes
        self.configuration = configuration
        self.verifier = verifier
    }

    // MARK: - Connection lifecycle

    /// A WebSocket connection to `/relay/{meshID}` opened at `now`; it must send its first
    /// message within `firstMessageTimeoutMs`. A reused `conn` replaces the old one silently.
    public mutating func connected(_ conn: ConnectionID, meshID: String, now: Int64) -> [RelayAction] {
        let actions = forget(conn)
        let bucket = TokenBucket(rate: configuration.messagesPerSecond, capacity: configuration.messageBurst, now: Self.bucketTime(now))
        connections[conn] = Connection(meshID: meshID, connectedAtMs: now, lastMessageMs: now, bucket: bucket)
        return actions
    }

    /// The connection closed (by the client or the network): the others are told `peer_left`.
    public mutating func disconnected(_ conn: ConnectionID) -> [RelayAction] {
        forget(conn)
    }

    /// The connection's bounded send queue is full: the slow consumer is dropped so it cannot
    /// stall the others, who are told `peer_left`.
    public mutating func sendQueueFull(_ conn: ConnectionID) -> [RelayAction] {
        close(conn, code: .tryAgainLater, reason: "send queue full: too slow to keep up, dropped")
    }

    /// The relay's send queues together are at their budget (`RelayQueueBudget`) and this
    /// connection is among the slowest: it is dropped like a full queue's.
    public mutating func queueBudgetExceeded(_ conn: ConnectionID) -> [RelayAction] {
        close(conn, code: .tryAgainLater, reason: "relay memory budget reached: slowest peer dropped")
    }

    /// Time passes: closes connections still silent after `firstMessageTimeoutMs` (1008) and
    /// peers silent for `idleTimeoutMs` (no ping or message). Call every few seconds.
    public mutating func tick(now: Int64) -> [RelayAction] {
        var silent: [ConnectionID] = []
        var idle: [ConnectionID] = []
        for (conn, connection) in connections {
            if connection.member == nil {
                if now - connection.connectedAtMs >= configuration.firstMessageTimeoutMs { silent.append(conn) }
            } else if now - connection.lastMessageMs >= configuration.idleTimeoutMs {
                idle.append(conn)
            }
        }
        var actions: [RelayAction] = []
        let firstSeconds = configuration.firstMessageTimeoutMs / 1000
        for conn in silent.sorted() {
            actions += close(conn, code: .policyViolation, reason: "no register_mesh or join within \(firstSeconds) s")
        }
        let idleSeconds = configuration.idleTimeoutMs / 1000
        for conn in idle.sorted() {
            actions += close(conn, code: .normalClosure, reason: "idle: no message for \(idleSeconds) s")
        }
        return actions
    }

    // MARK: - Removal

    /// Closes `conn` with `code` and `reason`, forgets it and tells its mesh `peer_left`.
    mutating func close(_ conn: ConnectionID, code: RelayCloseCode, reason: String) -> [RelayAction] {
        guard connections[conn] != nil else { return [] }
        counters.connectionsClosed += 1
        return [.close(conn, code: code, reason: reason)] + forget(conn)
    }

    /// Forgets `conn`; if it was the admitted connection of its node, the others are told `peer_left`.
    mutating func forget(_ conn: ConnectionID) -> [RelayAction] {
        guard let connection = connections.removeValue(forKey: conn) else { return [] }
        guard let member = connection.member, rooms[connection.meshID]?[member.nodeID] == conn else { return [] }
        rooms[connection.meshID]?[member.nodeID] = nil
        if rooms[connection.meshID]?.isEmpty == true { rooms[connection.meshID] = nil }
        return sendToMesh(connection.meshID, .peerLeft(nodeID: member.nodeID))
    }

    /// `message` to every admitted peer of `meshID` except `excluded`, in node id order.
    func sendToMesh(_ meshID: String, _ message: RelayOutgoingMessage, except excluded: String? = nil) -> [RelayAction] {
        guard let room = rooms[meshID] else { return [] }
        return room.sorted { $0.key < $1.key }.compactMap { nodeID, conn in
            nodeID == excluded ? nil : .send(conn, message)
        }
    }

    // MARK: - Queries

    /// The counters and gauges for `/stats`.
    public var statistics: RelayStatistics {
        var result = counters
        result.registeredMeshes = registeredMeshes.count
        result.activeMeshes = rooms.count
        result.peers = rooms.values.reduce(0) { $0 + $1.count }
        result.connections = connections.count
        return result
    }

    /// The public key `meshID` is registered with, if it is.
    public func registeredKey(of meshID: String) -> Data? { registeredMeshes[meshID] }

    /// The admitted peers of `meshID`, by node id.
    public func peers(of meshID: String) -> [RelayPeerInfo] {
        (rooms[meshID] ?? [:]).values.compactMap { connections[$0]?.member }.sorted { $0.nodeID < $1.nodeID }
    }

    /// The node id `conn` was admitted as, or nil while it is not admitted (or unknown).
    public func nodeID(of conn: ConnectionID) -> String? { connections[conn]?.member?.nodeID }
}

extension RelayState {
    /// The message bucket's clock (nanoseconds, `TokenBucket`'s unit) for a time in
    /// milliseconds; saturating, so no input traps.
    static func bucketTime(_ ms: Int64) -> Int64 { ms.multipliedReportingOverflow(by: 1_000_000).overflow ? (ms < 0 ? .min : .max) : ms * 1_000_000 }
}
