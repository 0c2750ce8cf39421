/// `model_catalog`: the models one node offers, gossiped to the mesh.
public struct ModelCatalog: Sendable, Hashable, Codable {
    public static let messageType = "model_catalog"

    /// Where a node can be reached for transfers.
    public struct TransferEndpoints: Sendable, Hashable, Codable {
        /// Base URL such as `http://192.168.1.100:14750`; nil when the node serves no HTTP.
        public var http: String?
        /// Whether the node accepts chunked transfers over WebSocket.
        public var websocket: Bool
        /// Fields this version does not know, kept and written back out.
        public var extra: [String: JSONValue]

        /// Endpoints with an HTTP base URL (nil for none).
        public init(http: String?, websocket: Bool = false, extra: [String: JSONValue] = [:]) {
            self.http = http
            self.websocket = websocket
            self.extra = extra
        }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            let url = try reader.optionalString("http")
            if let url, !url.isEmpty {
                guard Validation.isValidHTTPEndpoint(url) else { throw reader.fail("http", "must be an http:// or https:// URL") }
                http = url
            } else {
                http = nil
            }
            websocket = try reader.optionalBool("websocket") ?? false
            extra = try reader.unknownFields()
        }

        public func encode(to encoder: any Encoder) throws {
            var writer = FieldWriter(encoder)
            try writer.write("http", http)
            try writer.write("websocket", websocket)
            try writer.finish(extra: extra)
        }
    }

    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `node_id`: an opaque id, bounded and printable.
    public var nodeID: String
    /// `node_name`, human-readable.
    public var nodeName: String
    /// Unix epoch milliseconds.
    public var timestamp: Int64
    /// The models offered.
    public var models: [ModelEntry]
    /// **Extension** `partial_models`: the files this node is pulling now, each naming its
    /// piece manifest, served piece by piece (`ModelCatalog+Partial.swift`). Never in
    /// `models`; omitted from the JSON when empty.
    public var partialModels: [ModelEntry]
    /// **Extension** `repositories`: repository revisions offered as models, each with all
    /// its files (`ModelCatalog+Repositories.swift`); omitted from the JSON when empty.
    public var repositories: [RepositoryEntry]
    /// `transfer_endpoints`: how to reach the node for transfers.
    public var transferEndpoints: TransferEndpoints
    /// `ttl_seconds`: entries expire when not re-announced within this time.
    public var ttlSeconds: Int64
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]
    /// Entries of the received catalog that were refused (bad id, hash, size...) and left
    /// out of `models`, `partial_models` or `repositories`, with the reason of each. Never encoded; empty
    /// for catalogs built here.
    public var rejectedModels: [WireError] = []

    /// A catalog of this node, speaking `WireLimits.protocolVersion`.
    public init(
        nodeID: String, nodeName: String, timestamp: Int64, models: [ModelEntry], partialModels: [ModelEntry] = [],
        repositories: [RepositoryEntry] = [], transferEndpoints: TransferEndpoints, ttlSeconds: Int64 = 300,
        protocolVersion: String = WireLimits.protocolVersion, extra: [String: JSONValue] = [:]
    ) {
        self.protocolVersion = protocolVersion
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.timestamp = timestamp
        self.models = models
        self.partialModels = partialModels
        self.repositories = repositories
        self.transferEndpoints = transferEndpoints
        self.ttlSeconds = ttlSeconds
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        nodeID = try reader.string("node_id")
        guard Validation.isValidNodeID(nodeID) else { throw reader.fail("node_id", "invalid node_id (1-128 printable ASCII)") }
        nodeName = try reader.optionalString("node_name") ?? nodeID
        timestamp = try reader.optionalTruncatedInt("timestamp") ?? 0
        let decoded = try reader.lossyArray(ModelEntry.self, "models", limit: WireLimits.maxModelsPerCatalog)
        models = decoded?.values ?? []
        let partial = Self.decodePartialModels(&reader)
        partialModels = partial.values
        let repositories = Self.decodeRepositories(&reader, models: models)
        self.repositories = repositories.values
        rejectedModels = (decoded?.rejected ?? []) + partial.rejected + repositories.rejected
        transferEndpoints = try reader.decode(TransferEndpoints.self, "transfer_endpoints") ?? TransferEndpoints(http: nil)
        ttlSeconds = max(1, try reader.optionalInt("ttl_seconds") ?? 300)
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("node_id", nodeID)
        try writer.write("node_name", nodeName)
        try writer.write("timestamp", timestamp)
        try writer.write("models", models)
        try writer.write(Self.partialModelsField, partialModels.isEmpty ? nil : partialModels)
        try writer.write(Self.repositoriesField, repositories.isEmpty ? nil : repositories)
        try writer.write("transfer_endpoints", transferEndpoints)
        try writer.write("ttl_seconds", ttlSeconds)
        try writer.finish(extra: extra)
    }
}
