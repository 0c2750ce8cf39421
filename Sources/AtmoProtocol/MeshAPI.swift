/// Bodies of the node's mesh view (`docs/PROTOCOL.md` §4): what `atmo models` and
/// `atmo peers` show, served by the running node to this machine's CLI and apps.
public enum MeshAPI {
    /// `GET` the mesh's models, one per (`model_id`, `sha256`); query parameters `search`,
    /// `type`, `format`, `capability` filter them. `GET .../{model_id}`: its versions.
    public static let modelsPath = "/v1/mesh/models"
    /// `GET` the peers this node knows, with what it measured of them.
    public static let peersPath = "/v1/mesh/peers"

    /// One node offering a model, in the order a pull would try them (best first).
    public struct Provider: Sendable, Hashable, Codable {
        public var nodeID: String
        public var nodeName: String
        /// The node's HTTP base URL; nil when it has no direct endpoint.
        public var http: String?
        public var latencyMs: Double?
        public var reliability: Double?
        public var activeTransfers: Int?
        /// How this node can reach it, best first: `http` (its endpoint answers), `websocket`,
        /// `relay`. Nil from older nodes: then `http` when it has an endpoint.
        public var transports: [String]?
        /// **Extension** `partial`: true when the node is still pulling the file and serves
        /// the pieces it holds (its catalog's `partial_models`); omitted (nil) for a node
        /// that holds it whole, so older readers see nothing new.
        public var partial: Bool?
        /// **Extension** `files`, in the repositories view only: how many files of the
        /// repository revision the node holds (nil elsewhere).
        public var files: Int?

        public init(
            nodeID: String, nodeName: String, http: String?, latencyMs: Double? = nil, reliability: Double? = nil,
            activeTransfers: Int? = nil, transports: [String]? = nil, partial: Bool? = nil, files: Int? = nil
        ) {
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.http = http
            self.latencyMs = latencyMs
            self.reliability = reliability
            self.activeTransfers = activeTransfers
            self.transports = transports
            self.partial = partial == true ? true : nil
            self.files = files
        }

        /// Whether the node holds only some pieces of the file (`partial` true).
        public var isPartial: Bool { partial == true }

        /// `transports`, or for an older node `http` when it has an endpoint.
        public var effectiveTransports: [String] { transports ?? (http == nil ? [] : ["http"]) }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id", nodeName = "node_name", http, latencyMs = "latency_ms", reliability
            case activeTransfers = "active_transfers", transports, partial, files
        }
    }

    /// One artefact of the mesh: its catalog entry, who offers it, and whether this node
    /// has it already.
    public struct Model: Sendable, Hashable, Codable {
        public var entry: ModelEntry
        public var providers: [Provider]
        public var installed: Bool

        public init(entry: ModelEntry, providers: [Provider], installed: Bool) {
            self.entry = entry
            self.providers = providers
            self.installed = installed
        }

        enum CodingKeys: String, CodingKey { case entry = "model", providers, installed }
    }

    /// `GET /v1/mesh/models`.
    public struct ModelList: Sendable, Hashable, Codable {
        public var models: [Model]
        public init(models: [Model]) { self.models = models }
    }

    /// One peer as this node sees it.
    public struct Peer: Sendable, Hashable, Codable {
        public var nodeID: String
        public var nodeName: String
        public var http: String?
        /// `configured`, `lan` or `gossip`: how it became known.
        public var origin: String
        public var latencyMs: Double?
        public var activeTransfers: Int?
        public var reliability: Double
        /// Unix epoch milliseconds; 0 when never heard from directly.
        public var lastSeen: Int64
        /// Models in its current catalog.
        public var modelCount: Int
        /// How it can be reached, best first: `http`, `websocket`, `relay` (nil from older nodes).
        public var transports: [String]?
        /// Why its last `/health` probe failed: `timeout` (no whole answer within the probe's
        /// deadline, e.g. a peer that trickles its answer) or `failed` (refused, an error
        /// status, an answer that does not decode); nil when it answered or was not probed yet.
        public var probeError: String?
        /// **Extension** `refused_catalogs`: the catalogs this node refused whose origin is this
        /// peer or that it delivered (newest first); nil (omitted) when none.
        public var refusedCatalogs: [RefusedCatalog]?

        /// `probe_error` of a probe that got no whole answer in time.
        public static let probeTimedOut = "timeout"
        /// `probe_error` of a probe that failed otherwise.
        public static let probeFailed = "failed"

        public init(
            nodeID: String, nodeName: String, http: String?, origin: String, latencyMs: Double?, activeTransfers: Int?,
            reliability: Double, lastSeen: Int64, modelCount: Int, transports: [String]? = nil, probeError: String? = nil
        ) {
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.http = http
            self.origin = origin
            self.latencyMs = latencyMs
            self.activeTransfers = activeTransfers
            self.reliability = reliability
            self.lastSeen = lastSeen
            self.modelCount = modelCount
            self.transports = transports
            self.probeError = probeError
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id", nodeName = "node_name", http, origin, latencyMs = "latency_ms"
            case activeTransfers = "active_transfers", reliability, lastSeen = "last_seen", modelCount = "model_count"
            case transports, probeError = "probe_error", refusedCatalogs = "refused_catalogs"
        }
    }

    /// `GET /v1/mesh/peers`.
    public struct PeerList: Sendable, Hashable, Codable {
        public var peers: [Peer]
        /// **Extension** `refused_catalogs`: every refusal this node remembers (at most 256,
        /// newest first), those of origins it knows no peer of too; nil (omitted) when none.
        public var refusedCatalogs: [RefusedCatalog]?

        public init(peers: [Peer], refusedCatalogs: [RefusedCatalog]? = nil) {
            self.peers = peers
            self.refusedCatalogs = refusedCatalogs
        }

        enum CodingKeys: String, CodingKey { case peers, refusedCatalogs = "refused_catalogs" }
    }
}
