/// Bodies of the provider's HTTP API (`docs/PROTOCOL.md` §3).
public enum HTTPAPI {
    /// The default port of `atmo serve`. The older 14345 clashes with another service.
    public static let defaultPort = 14750

    /// `GET /health`: liveness and counts (`Health`).
    public static let healthPath = "/health"
    /// `GET /v1/models` (`ModelList`) and `GET /v1/models/{model_id}` (one `ModelEntry`).
    public static let modelsPath = "/v1/models"
    /// `GET /v1/models/download/{model_id}`: the file's bytes, with single byte ranges.
    public static let downloadPrefix = "/v1/models/download/"
    /// This project's extension: the provider's view of its transfers.
    public static let transfersPath = "/v1/transfers"
    /// This project's extension: consumers report finished or failed transfers here.
    public static let reportsPath = "/v1/transfers/reports"
    /// This project's extension for gossip (docs/MESH.md): `GET` answers every fresh catalog
    /// the node knows, its own and those it learned (`CatalogBundle`); `POST` delivers
    /// catalogs to it (a bare `model_catalog` or a `CatalogBundle`).
    public static let catalogsPath = "/v1/catalogs"
    /// WebSocket endpoint for chunked transfers straight to this node (**Extension**; the
    /// node's catalog says `websocket: true`): the `direct` payloads of a relay, unwrapped.
    public static let transferSocketPath = "/v1/transfers/ws"
    /// **Extension** (docs/PROTOCOL.md, "Piece manifests"): `GET /v1/pieces/{sha256}` answers
    /// the file's `PieceManifest` bytes (`application/octet-stream`);
    /// `GET /v1/pieces/{sha256}/have` answers the pieces this node holds (`PieceAvailability`),
    /// for a file it is still pulling as for one it has whole.
    public static let piecesPrefix = "/v1/pieces/"

    /// `GET /health`.
    public struct Health: Sendable, Hashable, Codable {
        /// `ok` when the node serves.
        public var status: String
        /// `models_available`: entries offered now.
        public var modelsAvailable: Int
        /// `http_port` the provider listens on.
        public var httpPort: Int
        /// `node_id`; "" from older nodes.
        public var nodeID: String
        /// `node_name`; "" from older nodes.
        public var nodeName: String
        /// `protocol_version`; "1.0" from older nodes.
        public var protocolVersion: String
        /// `active_transfers`: downloads being served now.
        public var activeTransfers: Int
        /// `models_hashing`: files found but not yet hashed (not offered yet).
        public var modelsHashing: Int

        /// A health answer of this node.
        public init(
            status: String = "ok", modelsAvailable: Int, httpPort: Int, nodeID: String, nodeName: String,
            activeTransfers: Int, modelsHashing: Int, protocolVersion: String = WireLimits.protocolVersion
        ) {
            self.status = status
            self.modelsAvailable = modelsAvailable
            self.httpPort = httpPort
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.protocolVersion = protocolVersion
            self.activeTransfers = activeTransfers
            self.modelsHashing = modelsHashing
        }

        enum CodingKeys: String, CodingKey {
            case status
            case modelsAvailable = "models_available"
            case httpPort = "http_port"
            case nodeID = "node_id"
            case nodeName = "node_name"
            case protocolVersion = "protocol_version"
            case activeTransfers = "active_transfers"
            case modelsHashing = "models_hashing"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            status = try container.decode(String.self, forKey: .status)
            modelsAvailable = try container.decodeIfPresent(Int.self, forKey: .modelsAvailable) ?? 0
            httpPort = try container.decodeIfPresent(Int.self, forKey: .httpPort) ?? 0
            nodeID = try container.decodeIfPresent(String.self, forKey: .nodeID) ?? ""
            nodeName = try container.decodeIfPresent(String.self, forKey: .nodeName) ?? ""
            protocolVersion = try container.decodeIfPresent(String.self, forKey: .protocolVersion) ?? WireLimits.legacyProtocolVersion
            activeTransfers = try container.decodeIfPresent(Int.self, forKey: .activeTransfers) ?? 0
            modelsHashing = try container.decodeIfPresent(Int.self, forKey: .modelsHashing) ?? 0
        }
    }

    /// `GET /v1/models`. Decoding leaves out (and lists in `rejected`) entries it refuses,
    /// so one odd entry of a peer does not hide the others.
    public struct ModelList: Sendable, Hashable, Codable {
        /// The entries offered (never with local paths).
        public var models: [ModelEntry]
        /// Entries of a received list that were refused, with the reason. Never encoded.
        public var rejected: [WireError] = []
        /// A list of `models`.
        public init(models: [ModelEntry]) { self.models = models }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            let decoded = try reader.lossyArray(ModelEntry.self, "models", limit: WireLimits.maxModelsPerCatalog)
            models = decoded?.values ?? []
            rejected = decoded?.rejected ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            var writer = FieldWriter(encoder)
            try writer.write("models", models)
            try writer.finish(extra: [:])
        }
    }

    /// `GET`/`POST /v1/catalogs`: catalogs of several nodes. Decoding leaves out (and lists
    /// in `rejected`) catalogs it refuses, one by one.
    public struct CatalogBundle: Sendable, Hashable, Codable {
        /// The catalogs, each with its own `gossip_hops` when relayed.
        public var catalogs: [ModelCatalog]
        /// Catalogs of a received bundle that were refused, with the reason. Never encoded.
        public var rejected: [WireError] = []
        /// A bundle of `catalogs`.
        public init(catalogs: [ModelCatalog]) { self.catalogs = catalogs }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            let decoded = try reader.lossyArray(ModelCatalog.self, "catalogs", limit: WireLimits.maxCatalogsPerBundle)
            catalogs = decoded?.values ?? []
            rejected = decoded?.rejected ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            var writer = FieldWriter(encoder)
            try writer.write("catalogs", catalogs)
            try writer.finish(extra: [:])
        }
    }

    /// The body of `POST /v1/catalogs`: a `CatalogBundle`, or (as older peers send) one bare
    /// `model_catalog`. Decoded in one pass, whichever it is.
    public struct CatalogPush: Sendable, Hashable, Decodable {
        /// The catalogs that decoded.
        public var catalogs: [ModelCatalog]
        /// Catalogs of a bundle that were refused, with the reason.
        public var rejected: [WireError]

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            if container.contains(AnyCodingKey("catalogs")) {
                let bundle = try CatalogBundle(from: decoder)
                (catalogs, rejected) = (bundle.catalogs, bundle.rejected)
            } else {
                (catalogs, rejected) = ([try ModelCatalog(from: decoder)], [])
            }
        }
    }

    /// Every 4xx/5xx answer: `{"error": "...", "code": "..."}`.
    public struct ErrorBody: Sendable, Hashable, Codable {
        /// A human-readable message, e.g. `Model not found`.
        public var error: String
        /// A machine-readable code, when there is one.
        public var code: String?
        /// An error body.
        public init(error: String, code: String? = nil) {
            self.error = error
            self.code = code
        }
    }
}
