/// `model_catalog`: the models one node offers, gossiped to the mesh.
public struct ModelCatalog: Sendable, Hashable, Codable {
    public static let messageType = "model_catalog"

    /// Where a node can be reached for transfers.
    public struct TransferEndpoints: Sendable, Hashable, Codable {
        /// Base URL such as `http://192.168.1.100:14750`; nil when the node serves no HTTP.
        public var http: String?
        /// Whether the node accepts chunked transfers over WebSocket.
        public var websocket: Bool
        public var extra: [String: JSONValue]

        public init(http: String?, websocket: Bool = false, extra: [String: JSONValue] = [:]) {
            self.http = http
            self.websocket = websocket
            self.extra = extra
        }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            let url = try reader.optionalString("http")
            http = (url?.isEmpty ?? true) ? nil : url
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

    public var protocolVersion: String
    public var nodeID: String
    public var nodeName: String
    /// Unix epoch milliseconds.
    public var timestamp: Int64
    public var models: [ModelEntry]
    public var transferEndpoints: TransferEndpoints
    public var ttlSeconds: Int64
    public var extra: [String: JSONValue]

    public init(
        nodeID: String, nodeName: String, timestamp: Int64, models: [ModelEntry],
        transferEndpoints: TransferEndpoints, ttlSeconds: Int64 = 300,
        protocolVersion: String = WireLimits.protocolVersion, extra: [String: JSONValue] = [:]
    ) {
        self.protocolVersion = protocolVersion
        self.nodeID = nodeID
        self.nodeName = nodeName
        self.timestamp = timestamp
        self.models = models
        self.transferEndpoints = transferEndpoints
        self.ttlSeconds = ttlSeconds
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        nodeID = try reader.string("node_id")
        guard Validation.isValidNodeID(nodeID) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [AnyCodingKey("node_id")], debugDescription: "invalid node_id"))
        }
        nodeName = try reader.optionalString("node_name") ?? nodeID
        timestamp = try reader.optionalInt("timestamp") ?? 0
        let models = try reader.decode([ModelEntry].self, "models") ?? []
        guard models.count <= WireLimits.maxModelsPerCatalog else {
            throw DecodingError.dataCorrupted(.init(codingPath: [AnyCodingKey("models")], debugDescription: "too many models"))
        }
        self.models = models
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
        try writer.write("transfer_endpoints", transferEndpoints)
        try writer.write("ttl_seconds", ttlSeconds)
        try writer.finish(extra: extra)
    }
}
