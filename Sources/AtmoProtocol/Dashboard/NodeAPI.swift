/// `GET /v1/node` and `GET /v1/events`: this node at a glance, and the one event stream the
/// dashboard follows (docs/PROTOCOL.md "Dashboard and control API access").
public enum NodeAPI {
    /// `GET`: a `Status`.
    public static let path = "/v1/node"
    /// `GET`: Server-Sent Events (`download`, `mesh`, `node`, keep-alive comments).
    public static let eventsPath = "/v1/events"
    /// At most this many uploads are listed in `serving`.
    public static let maxServing = 256
    /// At most this many event streams are open at once; one more is answered 503.
    public static let maxEventStreams = 64
    /// At most this many event streams per client address; one more closes the address's
    /// oldest (a dashboard holds one per browser, through its shared worker).
    public static let maxEventStreamsPerAddress = 8
    /// The `code` of the `closed` event a superseded stream ends with.
    public static let streamSupersededCode = "stream_superseded"

    /// The data of the `closed` event that ends a stream the node closed.
    public struct StreamClosed: Sendable, Hashable, Codable {
        public var error: String
        public var code: String

        public init(error: String, code: String) {
            self.error = error
            self.code = code
        }
    }

    /// The answer of `GET /v1/node`.
    public struct Status: Sendable, Hashable, Codable {
        public var nodeID: String
        public var nodeName: String
        public var version: String
        /// Unix seconds.
        public var startedAt: Int64
        /// Where this node's HTTP API is, e.g. `http://127.0.0.1:14750`.
        public var http: String
        public var relays: [Relay]
        /// Direct WebSocket links to other nodes open now.
        public var directLinks: Int
        /// The mesh this node belongs to (`atmo mesh join`), or null.
        public var mesh: Mesh?
        /// What this node uploads right now (at most `maxServing`).
        public var serving: [Upload]
        public var storage: StorageAPI.Status
        /// As `GET /v1/limits` answers.
        public var limits: BandwidthStatus
        /// The `/v1/events` streams open now (absent from older nodes).
        public var eventStreams: Int?

        public init(
            nodeID: String, nodeName: String, version: String, startedAt: Int64, http: String, relays: [Relay], directLinks: Int,
            mesh: Mesh?, serving: [Upload], storage: StorageAPI.Status, limits: BandwidthStatus, eventStreams: Int? = nil
        ) {
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.version = version
            self.startedAt = startedAt
            self.http = http
            self.relays = relays
            self.directLinks = directLinks
            self.mesh = mesh
            self.serving = serving
            self.storage = storage
            self.limits = limits
            self.eventStreams = eventStreams
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id", nodeName = "node_name", version, startedAt = "started_at", http, relays
            case directLinks = "direct_links", mesh, serving, storage, limits, eventStreams = "event_streams"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(nodeID, forKey: .nodeID)
            try container.encode(nodeName, forKey: .nodeName)
            try container.encode(version, forKey: .version)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(http, forKey: .http)
            try container.encode(relays, forKey: .relays)
            try container.encode(directLinks, forKey: .directLinks)
            // `mesh` is null, not absent, for a node of no mesh.
            try container.encode(mesh, forKey: .mesh)
            try container.encode(serving, forKey: .serving)
            try container.encode(storage, forKey: .storage)
            try container.encode(limits, forKey: .limits)
            try container.encodeIfPresent(eventStreams, forKey: .eventStreams)
        }
    }

    /// One relay this node keeps a connection to.
    public struct Relay: Sendable, Hashable, Codable {
        public var url: String
        /// `connected`, `connecting` or `disconnected`.
        public var state: String
        /// The other nodes present on it, when connected.
        public var peers: Int?

        public init(url: String, state: String, peers: Int? = nil) {
            self.url = url
            self.state = state
            self.peers = peers
        }
    }

    /// The mesh this node joined.
    public struct Mesh: Sendable, Hashable, Codable {
        public var meshID: String
        public var name: String?

        public init(meshID: String, name: String?) {
            self.meshID = meshID
            self.name = name
        }

        enum CodingKeys: String, CodingKey { case meshID = "mesh_id", name }
    }

    /// One upload under way.
    public struct Upload: Sendable, Hashable, Codable {
        public var modelID: String
        public var sha256: String
        /// Who takes it: a node id (relayed, direct) or the client's address (HTTP).
        public var peer: String?
        /// `http`, `direct` or `relay`.
        public var route: String
        public var bytesSent: Int64
        /// The bytes this upload sends in all (a range's length for HTTP).
        public var sizeBytes: Int64?
        /// Unix seconds.
        public var startedAt: Int64

        public init(modelID: String, sha256: String, peer: String?, route: String, bytesSent: Int64, sizeBytes: Int64?, startedAt: Int64) {
            self.modelID = modelID
            self.sha256 = sha256
            self.peer = peer
            self.route = route
            self.bytesSent = bytesSent
            self.sizeBytes = sizeBytes
            self.startedAt = startedAt
        }

        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", sha256, peer, route, bytesSent = "bytes_sent", sizeBytes = "size_bytes", startedAt = "started_at"
        }
    }

    /// The data of a `mesh` or `node` event: the view's version, to refetch on a change.
    /// A `mesh` event also carries `models_version`, which moves only when the mesh's model
    /// list (models, repositories, their providers or partial state) changed.
    public struct Change: Sendable, Hashable, Codable {
        public var version: UInt64
        public var modelsVersion: UInt64?
        public init(version: UInt64, modelsVersion: UInt64? = nil) {
            self.version = version
            self.modelsVersion = modelsVersion
        }
        enum CodingKeys: String, CodingKey { case version, modelsVersion = "models_version" }
    }
}
