/// How a transfer moves its bytes.
public enum TransportKind: String, Sendable, Hashable, Codable {
    case http
    case websocket
}

/// `model_request`: a consumer asks a provider for a model.
public struct ModelRequest: Sendable, Hashable, Codable {
    public static let messageType = "model_request"
    public var protocolVersion: String
    public var requestID: String
    public var requesterNodeID: String
    public var targetNodeID: String
    public var modelID: String
    /// 0 for a fresh transfer.
    public var resumeFromByte: Int64
    public var transport: String
    public var extra: [String: JSONValue]

    public init(
        requestID: String, requesterNodeID: String, targetNodeID: String, modelID: String,
        resumeFromByte: Int64 = 0, transport: TransportKind = .http, protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.requesterNodeID = requesterNodeID
        self.targetNodeID = targetNodeID
        self.modelID = modelID
        self.resumeFromByte = resumeFromByte
        self.transport = transport.rawValue
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        requesterNodeID = try reader.optionalString("requester_node_id") ?? ""
        targetNodeID = try reader.optionalString("target_node_id") ?? ""
        modelID = try reader.modelID()
        resumeFromByte = try reader.optionalInt("resume_from_byte") ?? 0
        guard resumeFromByte >= 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [AnyCodingKey("resume_from_byte")], debugDescription: "must not be negative"))
        }
        transport = try reader.optionalString("transport") ?? TransportKind.http.rawValue
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("requester_node_id", requesterNodeID)
        try writer.write("target_node_id", targetNodeID)
        try writer.write("model_id", modelID)
        try writer.write("resume_from_byte", resumeFromByte)
        try writer.write("transport", transport)
        try writer.finish(extra: extra)
    }
}

/// `model_transfer_start`: the provider's answer to a `model_request`.
public struct ModelTransferStart: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_start"
    public static let defaultChunkSize: Int64 = 65_536

    /// The `metadata` object of the start message.
    public struct Metadata: Sendable, Hashable, Codable {
        public var name: String
        public var type: String
        public var format: String
        public var classes: [String]?

        public init(name: String, type: String, format: String, classes: [String]?) {
            self.name = name
            self.type = type
            self.format = format
            self.classes = classes
        }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            name = try reader.optionalString("name") ?? ""
            type = try reader.optionalString("type") ?? "unknown"
            format = try reader.optionalString("format") ?? ""
            classes = try reader.optionalStringArray("classes")
        }

        public func encode(to encoder: any Encoder) throws {
            var writer = FieldWriter(encoder)
            try writer.write("name", name)
            try writer.write("type", type)
            try writer.write("format", format)
            try writer.write("classes", classes)
        }
    }

    public var protocolVersion: String
    public var requestID: String
    public var modelID: String
    public var totalBytes: Int64
    public var totalChunks: Int64
    public var chunkSize: Int64
    public var sha256: String
    public var metadata: Metadata
    /// `http_range` or `websocket_chunked`.
    public var transferMethod: String
    public var extra: [String: JSONValue]

    public init(
        requestID: String, modelID: String, totalBytes: Int64, chunkSize: Int64 = defaultChunkSize,
        sha256: String, metadata: Metadata, transferMethod: String = "http_range",
        protocolVersion: String = WireLimits.protocolVersion, extra: [String: JSONValue] = [:]
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.modelID = modelID
        self.totalBytes = totalBytes
        self.chunkSize = chunkSize
        self.totalChunks = Self.chunkCount(totalBytes: totalBytes, chunkSize: chunkSize)
        self.sha256 = sha256
        self.metadata = metadata
        self.transferMethod = transferMethod
        self.extra = extra
    }

    /// ceil(total_bytes / chunk_size).
    public static func chunkCount(totalBytes: Int64, chunkSize: Int64) -> Int64 {
        chunkSize > 0 ? (totalBytes + chunkSize - 1) / chunkSize : 0
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        modelID = try reader.modelID()
        totalBytes = try reader.nonNegativeInt("total_bytes")
        chunkSize = try reader.optionalInt("chunk_size") ?? Self.defaultChunkSize
        guard chunkSize > 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [AnyCodingKey("chunk_size")], debugDescription: "must be positive"))
        }
        totalChunks = try reader.optionalInt("total_chunks") ?? Self.chunkCount(totalBytes: totalBytes, chunkSize: chunkSize)
        sha256 = try reader.sha256("sha256")
        metadata = try reader.decode(Metadata.self, "metadata") ?? Metadata(name: modelID, type: "unknown", format: "", classes: nil)
        transferMethod = try reader.optionalString("transfer_method") ?? "http_range"
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("model_id", modelID)
        try writer.write("total_bytes", totalBytes)
        try writer.write("total_chunks", totalChunks)
        try writer.write("chunk_size", chunkSize)
        try writer.write("sha256", sha256)
        try writer.write("metadata", metadata)
        try writer.write("transfer_method", transferMethod)
        try writer.finish(extra: extra)
    }
}
