/// How a transfer moves its bytes.
public enum TransportKind: String, Sendable, Hashable, Codable {
    case http
    case websocket
}

/// `model_request`: a consumer asks a provider for a model.
public struct ModelRequest: Sendable, Hashable, Codable {
    public static let messageType = "model_request"
    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `requester_node_id`: the consumer.
    public var requesterNodeID: String
    /// `target_node_id`: the provider.
    public var targetNodeID: String
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// 0 for a fresh transfer.
    public var resumeFromByte: Int64
    /// `http` or `websocket` (see `TransportKind`); other values are kept as sent.
    public var transport: String
    /// **Extension** `sha256`: the version (whole-file lowercase hex SHA-256) asked for; a
    /// provider holding another version cancels with `hash_mismatch`. nil: any version.
    public var sha256: String?
    /// **Extension** `end_byte`: the exclusive end of the range asked for; nil: to the end of
    /// the file.
    public var endByte: Int64?
    /// **Extension** `transfer_modes`: the chunked modes the consumer supports, preferred
    /// first (`TransferMode` wire strings; unknown values are kept as sent). nil or empty:
    /// `compat` only, as an older consumer means.
    public var transferModes: [String]?
    /// **Extension** `max_chunk_bytes`: the largest chunk the consumer accepts (positive).
    public var maxChunkBytes: Int64?
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A request for `modelID`, resuming at `resumeFromByte` (0 = fresh). The extension
    /// fields are sent only when given.
    public init(
        requestID: String, requesterNodeID: String, targetNodeID: String, modelID: String,
        resumeFromByte: Int64 = 0, transport: TransportKind = .http, sha256: String? = nil, endByte: Int64? = nil,
        transferModes: [TransferMode]? = nil, maxChunkBytes: Int64? = nil, protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.requesterNodeID = requesterNodeID
        self.targetNodeID = targetNodeID
        self.modelID = modelID
        self.resumeFromByte = resumeFromByte
        self.transport = transport.rawValue
        self.sha256 = sha256
        self.endByte = endByte
        self.transferModes = transferModes?.map(\.rawValue)
        self.maxChunkBytes = maxChunkBytes
        self.extra = [:]
    }

    /// The modes of `transferModes` this version knows, in the consumer's order (unknown
    /// strings left out). Empty for an older consumer: it speaks `compat` only.
    public var knownTransferModes: [TransferMode] {
        (transferModes ?? []).compactMap(TransferMode.init(rawValue:))
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        requesterNodeID = try reader.optionalString("requester_node_id") ?? ""
        targetNodeID = try reader.optionalString("target_node_id") ?? ""
        modelID = try reader.modelID()
        resumeFromByte = try reader.optionalByteCount("resume_from_byte") ?? 0
        transport = try reader.optionalString("transport") ?? TransportKind.http.rawValue
        sha256 = try reader.optionalSHA256("sha256")
        endByte = try reader.optionalByteCount("end_byte")
        transferModes = try reader.optionalStringArray("transfer_modes")
        if let modes = transferModes, modes.count > TransferMode.maxListedModes {
            throw reader.fail("transfer_modes", .tooLarge, "more than \(TransferMode.maxListedModes) modes")
        }
        maxChunkBytes = try reader.optionalInt("max_chunk_bytes")
        if let maxChunkBytes, maxChunkBytes <= 0 { throw reader.fail("max_chunk_bytes", "must be positive") }
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
        try writer.write("sha256", sha256)
        try writer.write("end_byte", endByte)
        try writer.write("transfer_modes", transferModes)
        try writer.write("max_chunk_bytes", maxChunkBytes)
        try writer.finish(extra: extra)
    }
}

/// `model_transfer_start`: the provider's answer to a `model_request`.
public struct ModelTransferStart: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_start"
    /// The older design's `chunk_size`: 64 KiB.
    public static let defaultChunkSize: Int64 = 65_536

    /// The `metadata` object of the start message.
    public struct Metadata: Sendable, Hashable, Codable {
        /// Human-readable name.
        public var name: String
        /// `vision`, `llm`, `audio`, `embedding` or a value this version does not know.
        public var type: String
        /// `pt`, `gguf`, `onnx`, ... lowercased; a valid file extension (`Validation.isValidFormat`).
        public var format: String
        /// Class names (vision); nil when absent or JSON null.
        public var classes: [String]?
        /// Fields this version does not know, kept for re-sending.
        public var extra: [String: JSONValue]

        /// Metadata describing the file being sent.
        public init(name: String, type: String, format: String, classes: [String]?, extra: [String: JSONValue] = [:]) {
            self.name = name
            self.type = type
            self.format = format
            self.classes = classes
            self.extra = extra
        }

        public init(from decoder: any Decoder) throws {
            var reader = try FieldReader(decoder)
            name = try reader.optionalString("name") ?? ""
            type = (try reader.optionalString("type") ?? "unknown").lowercased()
            format = try reader.format()
            classes = try reader.optionalStringArray("classes")
            extra = try reader.unknownFields()
        }

        public func encode(to encoder: any Encoder) throws {
            var writer = FieldWriter(encoder)
            try writer.write("name", name)
            try writer.write("type", type)
            try writer.write("format", format)
            try writer.write("classes", classes)
            try writer.finish(extra: extra)
        }
    }

    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// `total_bytes`: the whole file's size.
    public var totalBytes: Int64
    /// `total_chunks` = ceil(total_bytes / chunk_size).
    public var totalChunks: Int64
    /// `chunk_size` in bytes (default 65536).
    public var chunkSize: Int64
    /// Lowercase hex SHA-256 of the whole file.
    public var sha256: String
    /// `metadata`: name, type, format and classes of the model.
    public var metadata: Metadata
    /// `http_range` or `websocket_chunked`.
    public var transferMethod: String
    /// **Extension** `transfer_mode`: the chunked mode the provider chose (a `TransferMode`
    /// wire string); nil means `compat`, as from an older provider. See `mode`.
    public var transferMode: String?
    /// **Extension** `start_byte`: the first byte sent, the consumer's `resume_from_byte`
    /// rounded down to a chunk boundary; nil from an older provider.
    public var startByte: Int64?
    /// **Extension** `end_byte`: the exclusive end of the bytes sent, the consumer's
    /// `end_byte` rounded up to a chunk boundary (or the file's end); nil: to the end of the file.
    public var endByte: Int64?
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A start message; `totalChunks` is derived from `totalBytes` and `chunkSize`. The
    /// extension fields are sent only when given.
    public init(
        requestID: String, modelID: String, totalBytes: Int64, chunkSize: Int64 = defaultChunkSize,
        sha256: String, metadata: Metadata, transferMethod: String = "http_range", transferMode: TransferMode? = nil,
        startByte: Int64? = nil, endByte: Int64? = nil, protocolVersion: String = WireLimits.protocolVersion,
        extra: [String: JSONValue] = [:]
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
        self.transferMode = transferMode?.rawValue
        self.startByte = startByte
        self.endByte = endByte
        self.extra = extra
    }

    /// The chunked mode in force: `transferMode`, or `compat` when absent (an older
    /// provider); nil for a mode this version does not know.
    public var mode: TransferMode? {
        guard let transferMode else { return .compat }
        return TransferMode(rawValue: transferMode)
    }

    /// ceil(total_bytes / chunk_size); 0 for a non-positive size or chunk size. Never
    /// overflows, whatever a peer sent.
    public static func chunkCount(totalBytes: Int64, chunkSize: Int64) -> Int64 {
        guard chunkSize > 0, totalBytes > 0 else { return 0 }
        return totalBytes / chunkSize + (totalBytes % chunkSize == 0 ? 0 : 1)
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        modelID = try reader.modelID()
        totalBytes = try reader.byteCount("total_bytes")
        chunkSize = try reader.optionalInt("chunk_size") ?? Self.defaultChunkSize
        guard chunkSize > 0 else { throw reader.fail("chunk_size", "must be positive") }
        let expectedChunks = Self.chunkCount(totalBytes: totalBytes, chunkSize: chunkSize)
        totalChunks = try reader.optionalInt("total_chunks") ?? expectedChunks
        guard totalChunks == expectedChunks else {
            throw reader.fail("total_chunks", "must be ceil(total_bytes / chunk_size) = \(expectedChunks)")
        }
        sha256 = try reader.sha256("sha256")
        metadata = try reader.decode(Metadata.self, "metadata") ?? Metadata(name: modelID, type: "unknown", format: "", classes: nil)
        transferMethod = try reader.optionalString("transfer_method") ?? "http_range"
        transferMode = try reader.optionalString("transfer_mode")
        startByte = try reader.optionalByteCount("start_byte")
        endByte = try reader.optionalByteCount("end_byte")
        for (name, value) in [("start_byte", startByte), ("end_byte", endByte)] {
            guard let value else { continue }
            guard value >= 0 else { throw reader.fail(name, "must not be negative") }
            guard value <= totalBytes else { throw reader.fail(name, "must not exceed total_bytes (\(totalBytes))") }
        }
        if let startByte, let endByte, startByte > endByte {
            throw reader.fail("end_byte", "must not be less than start_byte (\(startByte))")
        }
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
        try writer.write("transfer_mode", transferMode)
        try writer.write("start_byte", startByte)
        try writer.write("end_byte", endByte)
        try writer.finish(extra: extra)
    }
}
