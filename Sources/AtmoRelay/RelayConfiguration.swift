import AtmoProtocol
import Foundation

/// The limits and timeouts of a relay, with the defaults of the protocol notes.
public struct RelayConfiguration: Sendable, Hashable {
    /// How long a new connection may stay silent before its first message (`register_mesh`
    /// or `join`) before it is closed with 1008.
    public var firstMessageTimeoutMs: Int64
    /// How long an admitted peer may stay silent (clients ping every 20-25 s) before it is reaped.
    public var idleTimeoutMs: Int64
    /// The most peers one mesh holds; a node replacing its own older connection still fits.
    public var maxPeersPerMesh: Int
    /// The most meshes with admitted peers at once; a `register_mesh` or `join` that would
    /// open one more is refused (`RELAY_FULL`, then 1013). Registrations are not counted.
    public var maxMeshes: Int
    /// The largest text frame accepted, in bytes; a larger one closes the connection with 1009.
    public var maxFrameBytes: Int
    /// The largest binary frame accepted (header included), in bytes; a larger one closes the
    /// connection with 1009. Binary frames are exempt from the message rate, not from this.
    public var maxBinaryFrameBytes: Int
    /// The sustained message rate allowed per connection. High enough for a compatibility-mode
    /// transfer (one 64 KiB JSON chunk per message, 1,000 a second is 64 MB/s), low enough
    /// that one client cannot keep the relay busy with tiny messages.
    public var messagesPerSecond: Double
    /// How many messages a connection may send in a burst above the sustained rate.
    public var messageBurst: Double
    /// The longest token lifetime (`expires_at - issued_at`) accepted: 7 days.
    public var maxTokenLifetimeSeconds: Int64
    /// How far in the future a token's `issued_at` may be (clock skew between machines).
    public var tokenClockSkewSeconds: Int64

    /// A configuration; every limit has the default of the protocol notes.
    public init(
        firstMessageTimeoutMs: Int64 = 30_000, idleTimeoutMs: Int64 = 120_000, maxPeersPerMesh: Int = 256,
        maxMeshes: Int = 1_024, maxFrameBytes: Int = 1 << 20, maxBinaryFrameBytes: Int = (4 << 20) + 256, messagesPerSecond: Double = 1_000,
        messageBurst: Double = 2_000, maxTokenLifetimeSeconds: Int64 = 7 * 86_400, tokenClockSkewSeconds: Int64 = 300
    ) {
        self.firstMessageTimeoutMs = firstMessageTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.maxPeersPerMesh = maxPeersPerMesh
        self.maxMeshes = maxMeshes
        self.maxFrameBytes = maxFrameBytes
        self.maxBinaryFrameBytes = maxBinaryFrameBytes
        self.messagesPerSecond = messagesPerSecond
        self.messageBurst = messageBurst
        self.maxTokenLifetimeSeconds = maxTokenLifetimeSeconds
        self.tokenClockSkewSeconds = tokenClockSkewSeconds
    }
}

/// The cryptography the relay needs, injected so the state machine stays pure: the node
/// verifies Ed25519 signatures with swift-crypto, tests with fakes.
public protocol RelaySignatureVerifier: Sendable {
    /// Whether `proof` is a valid Ed25519 signature by `meshPublicKey` over the UTF-8 bytes of `meshID`.
    func isValidFounderProof(_ proof: Data, meshID: String, meshPublicKey: Data) -> Bool
    /// Whether the token's signature by `meshPublicKey` covers its canonical JSON. Its claims
    /// (mesh, node, expiry) are checked by the relay, not here.
    func isValidTokenSignature(_ token: MeshToken, meshPublicKey: Data) -> Bool
}

/// What the relay holds and has relayed, for `/stats`.
public struct RelayStatistics: Sendable, Hashable {
    /// Meshes whose registration is known (persisted or new).
    public var registeredMeshes = 0
    /// Meshes with at least one admitted peer.
    public var activeMeshes = 0
    /// Admitted peers over all meshes.
    public var peers = 0
    /// Open connections, admitted or still waiting for their first message.
    public var connections = 0
    /// Messages delivered to peers (a broadcast to n peers counts n).
    public var messagesRelayed: UInt64 = 0
    /// Payload bytes delivered to peers (a broadcast to n peers counts n times).
    public var bytesRelayed: UInt64 = 0
    /// Messages of a type the relay does not route, and malformed frames (dropped).
    public var messagesDropped: UInt64 = 0
    /// Connections closed by the relay for breaking a rule, being idle or too slow.
    public var connectionsClosed: UInt64 = 0
    /// Bytes waiting in the send queues now (filled in by the server).
    public var queuedBytes = 0
    /// The most bytes that waited in the send queues at once (filled in by the server).
    public var queuedBytesPeak = 0

    /// Empty statistics.
    public init() {}
}
