/// `model_transfer_complete`: the consumer reports a finished, verified (or failed) transfer.
public struct ModelTransferComplete: Sendable, Hashable, Codable {
    public static let messageType = "model_transfer_complete"
    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// `total_bytes_received`.
    public var totalBytesReceived: Int64
    /// `sha256_computed`: the hash of the received bytes.
    public var sha256Computed: String
    /// `sha256_expected`: the hash announced by the provider.
    public var sha256Expected: String
    /// `success` or `failed`.
    public var verificationStatus: String
    /// Where the consumer stored the model. Sent as the file name only: no node reveals its
    /// local directory layout to peers.
    public var storagePath: String
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A completion report; `storagePath` should be a file name only.
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
        totalBytesReceived = try reader.byteCount("total_bytes_received")
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
    /// The wire string; values this version does not know are kept as sent.
    public var rawValue: String
    /// A reason from its wire string.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The received file's SHA-256 differs from the announced one.
    public static let hashMismatch = CancelReason("hash_mismatch")
    /// The peer stopped answering.
    public static let timeout = CancelReason("timeout")
    /// The connection failed.
    public static let networkError = CancelReason("network_error")
    /// A person stopped the transfer.
    public static let userCancelled = CancelReason("user_cancelled")
    /// The consumer has no room for the file.
    public static let storageFull = CancelReason("storage_full")
    /// **Extension**: the peer broke the transfer protocol (a chunk or ack out of range, for
    /// another request, of the wrong length; a start that does not answer the request).
    public static let protocolError = CancelReason("protocol_error")
    /// **Extension**: the provider is still pulling the file and does not hold every piece
    /// the requested range touches yet (`docs/PROTOCOL.md`, "Serving while downloading").
    /// Not a failure of the peer: ask it again once its `/have` lists the pieces, or ask
    /// another peer. A peer that predates it keeps the string as an unknown reason.
    public static let notHeld = CancelReason("not_held")
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
    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// `reason`: why the transfer stopped.
    public var reason: CancelReason
    /// A human-readable explanation.
    public var message: String
    /// `cancelled_by`: the node id that cancelled.
    public var cancelledBy: String
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A cancellation sent by node `cancelledBy`.
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
    /// `protocol_version`; "1.0" when the peer sent none.
    public var protocolVersion: String
    /// `request_id`: the transfer's uuid string.
    public var requestID: String
    /// `model_id`, checked by `Validation.isValidModelID`.
    public var modelID: String
    /// `bytes_downloaded` so far.
    public var bytesDownloaded: Int64
    /// `total_bytes`: the whole file's size.
    public var totalBytes: Int64
    /// `progress_percent`, within 0...100 (clamped when decoded; see `percent(bytesDownloaded:totalBytes:)`).
    public var progressPercent: Double
    /// `transfer_rate_mbps`: megabits per second.
    public var transferRateMbps: Double
    /// `eta_seconds`; nil when unknown.
    public var etaSeconds: Double?
    /// `chunks_received` (pieces done).
    public var chunksReceived: Int64
    /// `total_chunks` = ceil(total_bytes / chunk_size).
    public var totalChunks: Int64
    /// Fields this version does not know, kept and written back out.
    public var extra: [String: JSONValue]

    /// A progress report; `progressPercent` is computed from the byte counts.
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
        self.progressPercent = Self.percent(bytesDownloaded: bytesDownloaded, totalBytes: totalBytes)
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
        bytesDownloaded = try reader.byteCount("bytes_downloaded")
        totalBytes = try reader.byteCount("total_bytes")
        progressPercent = min(100, max(0, try reader.optionalDouble("progress_percent") ?? 0))
        transferRateMbps = try reader.optionalDouble("transfer_rate_mbps") ?? 0
        etaSeconds = try reader.optionalDouble("eta_seconds")
        chunksReceived = try reader.optionalInt("chunks_received") ?? 0
        totalChunks = try reader.optionalInt("total_chunks") ?? 0
        extra = try reader.unknownFields()
    }

    /// `bytesDownloaded` as a percentage of `totalBytes`, within 0...100. A total of 0 (an
    /// empty file) is complete: 100.
    public static func percent(bytesDownloaded: Int64, totalBytes: Int64) -> Double {
        guard totalBytes > 0 else { return 100 }
        return min(100, max(0, Double(bytesDownloaded) * 100 / Double(totalBytes)))
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
