import Foundation

/// `model_transfer_chunk`: one piece of a WebSocket compatibility-mode transfer.
public struct ModelTransferChunk: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_chunk"
    public var protocolVersion: String
    public var requestID: String
    public var modelID: String
    public var chunkIndex: Int64
    public var totalChunks: Int64
    /// The decoded bytes (at most `WireLimits.maxChunkBytes`); base64 on the wire.
    public var chunkBytes: Data
    public var chunkSHA256: String?
    public var extra: [String: JSONValue]

    public init(
        requestID: String, modelID: String, chunkIndex: Int64, totalChunks: Int64, chunkBytes: Data,
        chunkSHA256: String?, protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.modelID = modelID
        self.chunkIndex = chunkIndex
        self.totalChunks = totalChunks
        self.chunkBytes = chunkBytes
        self.chunkSHA256 = chunkSHA256
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        modelID = try reader.modelID()
        chunkIndex = try reader.nonNegativeInt("chunk_index")
        totalChunks = try reader.nonNegativeInt("total_chunks")
        // base64 of 64 KiB is 87,384 characters: bound it before decoding.
        guard let encoded = try reader.decode(String.self, "chunk_bytes"),
            encoded.utf8.count <= (WireLimits.maxChunkBytes / 3 + 1) * 4 + 4,
            let bytes = Data(base64Encoded: encoded), bytes.count <= WireLimits.maxChunkBytes
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [AnyCodingKey("chunk_bytes")], debugDescription: "chunk_bytes must be base64 of at most 64 KiB"))
        }
        chunkBytes = bytes
        chunkSHA256 = try reader.optionalSHA256("chunk_sha256")
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("model_id", modelID)
        try writer.write("chunk_index", chunkIndex)
        try writer.write("total_chunks", totalChunks)
        try writer.write("chunk_bytes", chunkBytes.base64EncodedString())
        try writer.write("chunk_sha256", chunkSHA256)
        try writer.finish(extra: extra)
    }
}

/// `model_transfer_chunk_ack`: the receiver has a chunk.
public struct ModelTransferChunkAck: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_chunk_ack"
    public var protocolVersion: String
    public var requestID: String
    public var chunkIndex: Int64
    public var status: String
    public var extra: [String: JSONValue]

    public init(requestID: String, chunkIndex: Int64, status: String = "received", protocolVersion: String = WireLimits.protocolVersion) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.chunkIndex = chunkIndex
        self.status = status
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        chunkIndex = try reader.nonNegativeInt("chunk_index")
        status = try reader.optionalString("status") ?? "received"
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("chunk_index", chunkIndex)
        try writer.write("status", status)
        try writer.finish(extra: extra)
    }
}
