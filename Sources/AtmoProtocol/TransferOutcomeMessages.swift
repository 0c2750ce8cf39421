/// `model_transfer_complete`: the consumer reports a finished, verified (or failed) transfer.
public struct ModelTransferComplete: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_complete"
    public var protocolVersion: String
    public var requestID: String
    public var modelID: String
    public var totalBytesReceived: Int64
    public var sha256Computed: String
    public var sha256Expected: String
    /// `success` or `failed`.
    public var verificationStatus: String
    /// Where the consumer stored the model. Sent as the file name only: no node reveals its
    /// local directory layout to peers.
    public var storagePath: String
    public var extra: [String: JSONValue]

    public init(
        requestID: String, modelID: String, totalBytesReceived: Int64, sha256Computed: String, sha256Expected: String,
        verificationStatus: String, storagePath: String, protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.modelID = modelID
        self.totalBytesReceived = totalBytesReceived
        self.sha256Computed = sha256Computed
        self.sha256Expected = sha256Expected
        self.verificationStatus = verificationStatus
        self.storagePath = storagePath
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        modelID = try reader.modelID()
        totalBytesReceived = try reader.nonNegativeInt("total_bytes_received")
        sha256Computed = try reader.optionalString("sha256_computed") ?? ""
        sha256Expected = try reader.optionalString("sha256_expected") ?? ""
        verificationStatus = try reader.optionalString("verification_status") ?? "failed"
        storagePath = try reader.optionalString("storage_path") ?? ""
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("model_id", modelID)
        try writer.write("total_bytes_received", totalBytesReceived)
        try writer.write("sha256_computed", sha256Computed)
        try writer.write("sha256_expected", sha256Expected)
        try writer.write("verification_status", verificationStatus)
        try writer.write("storage_path", storagePath)
        try writer.finish(extra: extra)
    }
}

/// Why a transfer was cancelled, as sent in `model_transfer_cancel.reason`.
public struct CancelReason: Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static let hashMismatch = CancelReason("hash_mismatch")
    public static let timeout = CancelReason("timeout")
    public static let networkError = CancelReason("network_error")
    public static let userCancelled = CancelReason("user_cancelled")
    public static let storageFull = CancelReason("storage_full")
    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// `model_transfer_cancel`: either side stops a transfer.
public struct ModelTransferCancel: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_cancel"
    public var protocolVersion: String
    public var requestID: String
    public var modelID: String
    public var reason: CancelReason
    public var message: String
    public var cancelledBy: String
    public var extra: [String: JSONValue]

    public init(
        requestID: String, modelID: String, reason: CancelReason, message: String, cancelledBy: String,
        protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.modelID = modelID
        self.reason = reason
        self.message = message
        self.cancelledBy = cancelledBy
        self.extra = [:]
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        modelID = try reader.modelID()
        reason = CancelReason(try reader.optionalString("reason") ?? "network_error")
        message = try reader.optionalString("message") ?? ""
        cancelledBy = try reader.optionalString("cancelled_by") ?? ""
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("model_id", modelID)
        try writer.write("reason", reason)
        try writer.write("message", message)
        try writer.write("cancelled_by", cancelledBy)
        try writer.finish(extra: extra)
    }
}

/// `model_transfer_progress`: a transfer's progress, as a local event or on the wire.
public struct ModelTransferProgress: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_progress"
    public var protocolVersion: String
    public var requestID: String
    public var modelID: String
    public var bytesDownloaded: Int64
    public var totalBytes: Int64
    public var progressPercent: Double
    public var transferRateMbps: Double
    public var etaSeconds: Double?
    public var chunksReceived: Int64
    public var totalChunks: Int64
    public var extra: [String: JSONValue]

    public init(
        requestID: String, modelID: String, bytesDownloaded: Int64, totalBytes: Int64, transferRateMbps: Double,
        etaSeconds: Double?, chunksReceived: Int64, totalChunks: Int64, extra: [String: JSONValue] = [:],
        protocolVersion: String = WireLimits.protocolVersion
    ) {
        self.protocolVersion = protocolVersion
        self.requestID = requestID
        self.modelID = modelID
        self.bytesDownloaded = bytesDownloaded
        self.totalBytes = totalBytes
        self.progressPercent = totalBytes > 0 ? min(100, Double(bytesDownloaded) * 100 / Double(totalBytes)) : 100
        self.transferRateMbps = transferRateMbps
        self.etaSeconds = etaSeconds
        self.chunksReceived = chunksReceived
        self.totalChunks = totalChunks
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        var reader = try FieldReader(decoder)
        _ = try reader.optionalString("type")
        protocolVersion = try reader.optionalString("protocol_version") ?? WireLimits.legacyProtocolVersion
        requestID = try reader.string("request_id")
        modelID = try reader.modelID()
        bytesDownloaded = try reader.nonNegativeInt("bytes_downloaded")
        totalBytes = try reader.nonNegativeInt("total_bytes")
        progressPercent = try reader.optionalDouble("progress_percent") ?? 0
        transferRateMbps = try reader.optionalDouble("transfer_rate_mbps") ?? 0
        etaSeconds = try reader.optionalDouble("eta_seconds")
        chunksReceived = try reader.optionalInt("chunks_received") ?? 0
        totalChunks = try reader.optionalInt("total_chunks") ?? 0
        extra = try reader.unknownFields()
    }

    public func encode(to encoder: any Encoder) throws {
        var writer = FieldWriter(encoder)
        try writer.write("type", Self.messageType)
        try writer.write("protocol_version", protocolVersion)
        try writer.write("request_id", requestID)
        try writer.write("model_id", modelID)
        try writer.write("bytes_downloaded", bytesDownloaded)
        try writer.write("total_bytes", totalBytes)
        try writer.write("progress_percent", (progressPercent * 100).rounded() / 100)
        try writer.write("transfer_rate_mbps", (transferRateMbps * 100).rounded() / 100)
        try writer.write("eta_seconds", etaSeconds.map { $0.rounded() })
        try writer.write("chunks_received", chunksReceived)
        try writer.write("total_chunks", totalChunks)
        try writer.finish(extra: extra)
    }
}
