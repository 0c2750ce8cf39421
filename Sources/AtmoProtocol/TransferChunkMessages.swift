import Foundation

/// `model_transfer_chunk`: one piece of a WebSocket compatibility-mode transfer.
public struct ModelTransferChunk: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_chunk"
    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// `chunk_index`, 0-based.
    public var chunkIndex: Int64
    /// `total_chunks` = ceil(total_bytes / chunk_size).
    public var totalChunks: Int64
    /// The decoded bytes (at most `WireLimits.maxTextChunkBytes`; `compat` chunks are at most
    /// `WireLimits.maxChunkBytes`); base64 on the wire.
    public var chunkBytes: Data
    /// `chunk_sha256`: lowercase hex of this chunk, when sent.
    public var chunkSHA256: String?
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A chunk of at most `WireLimits.maxTextChunkBytes` bytes (`WireLimits.maxChunkBytes` in `compat` mode).
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
        guard chunkIndex < totalChunks else { throw reader.fail("chunk_index", "must be less than total_chunks (\(totalChunks))") }
        chunkBytes = try Self.decodeChunkBytes(&reader)
        chunkSHA256 = try reader.optionalSHA256("chunk_sha256")
        extra = try reader.unknownFields()
    }

    /// The base64 `chunk_bytes`, its length bounded before decoding (base64 of 256 KiB is
    /// 349,528 characters) and after. The bound is the `fast_text` chunk size: which mode a
    /// chunk belongs to is known only to the transfer's receiver, which checks each chunk's
    /// exact length against the negotiated chunk size.
    static func decodeChunkBytes(_ reader: inout FieldReader) throws -> Data {
        let limit = WireLimits.maxTextChunkBytes
        guard let encoded = try reader.decode(String.self, "chunk_bytes") else {
            throw reader.fail("chunk_bytes", .missingField, "missing required field")
        }
        guard encoded.utf8.count <= (limit + 2) / 3 * 4 else { throw reader.fail("chunk_bytes", .tooLarge, "more than \(limit) bytes") }
        // Foundation alone accepts oddities such as "====" or "aG=k": check the form first.
        guard Validation.isStrictBase64(encoded), let bytes = Data(base64Encoded: encoded) else {
            throw reader.fail("chunk_bytes", "not valid base64")
        }
        guard bytes.count <= limit else { throw reader.fail("chunk_bytes", .tooLarge, "more than \(limit) bytes") }
        return bytes
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
    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `chunk_index`, 0-based.
    public var chunkIndex: Int64
    /// `status`: `received`.
    public var status: String
    /// **Extension** `cumulative`: true means every chunk of the range up to and including
    /// `chunkIndex` is received; nil or false: only chunk `chunkIndex` (the older meaning).
    public var cumulative: Bool?
    /// **Extension** `received_bytes`: bytes of the range received in order so far.
    public var receivedBytes: Int64?
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// An acknowledgement of chunk `chunkIndex` (or of every chunk up to it, `cumulative`).
    /// The extension fields are sent only when given.
    public init(
        requestID: String, chunkIndex: Int64, status: String = "received", cumulative: Bool? = nil, receivedBytes: Int64? = nil,
        protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.chunkIndex = chunkIndex
        self.status = status
        self.cumulative = cumulative
        self.receivedBytes = receivedBytes
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        chunkIndex = try reader.nonNegativeInt("chunk_index")
        status = try reader.optionalString("status") ?? "received"
        cumulative = try reader.optionalBool("cumulative")
        receivedBytes = try reader.optionalByteCount("received_bytes")
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("chunk_index", chunkIndex)
        try writer.write("status", status)
        try writer.write("cumulative", cumulative)
        try writer.write("received_bytes", receivedBytes)
        try writer.finish(extra: extra)
    }
}
