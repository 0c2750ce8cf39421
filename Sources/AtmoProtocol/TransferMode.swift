/// **Extension**: how a `websocket_chunked` transfer moves its chunks (see docs/TRANSFERS.md).
///
/// The consumer lists the modes it supports in `model_request.transfer_modes`, preferred
/// first; the provider picks one (`negotiate`) and names it in
/// `model_transfer_start.transfer_mode`. A peer that names none speaks `compat`.
public enum TransferMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Binary chunk frames (`FastChunkFrame`) in relay binary `direct` frames, 1 MiB chunks,
    /// a window sized from the measured bandwidth and round-trip time, cumulative JSON acks.
    case fastBinary = "fast_binary"
    /// JSON `model_transfer_chunk` messages of 256 KiB, the same window and cumulative acks.
    case fastText = "fast_text"
    /// The older design: 64 KiB JSON chunks, one ack per chunk, at most 2 chunks in flight.
    case compat = "compat"

    /// The most entries of a `transfer_modes` list accepted from a peer.
    public static let maxListedModes = 16

    /// The chunk size a provider uses unless the consumer asks for smaller chunks.
    public var defaultChunkBytes: Int64 {
        switch self {
        case .fastBinary: 1024 * 1024
        case .fastText: Int64(WireLimits.maxTextChunkBytes)
        case .compat: Int64(WireLimits.maxChunkBytes)
        }
    }

    /// The largest chunk size this mode allows; a start message announcing more is refused.
    public var maxChunkBytes: Int64 {
        switch self {
        case .fastBinary: Int64(WireLimits.maxBinaryChunkBytes)
        case .fastText: Int64(WireLimits.maxTextChunkBytes)
        case .compat: Int64(WireLimits.maxChunkBytes)
        }
    }

    /// The smallest chunk size a provider chooses, whatever `max_chunk_bytes` asks: tiny
    /// chunks would only multiply messages.
    public static let minChunkBytes: Int64 = 4096

    /// Whether chunks travel as binary frames (`FastChunkFrame`) rather than JSON messages.
    public var usesBinaryFrames: Bool { self == .fastBinary }

    /// Whether the mode's flow control is the measured window with cumulative acks (the fast
    /// modes) rather than the older fixed two chunks in flight.
    public var isFast: Bool { self != .compat }

    /// The chunk size a provider uses for a consumer that accepts at most `consumerMax` bytes
    /// per chunk (nil: no limit): the mode's default, lowered to `consumerMax`, never below
    /// `minChunkBytes`.
    public func chunkBytes(consumerMax: Int64?) -> Int64 {
        guard let consumerMax else { return defaultChunkBytes }
        return max(Self.minChunkBytes, min(defaultChunkBytes, consumerMax))
    }

    /// The mode a provider chooses: the first of the consumer's `transfer_modes` that the
    /// provider supports, where `fast_binary` counts only when the path between the two (the
    /// relay and the consumer's connection) forwards binary frames. An absent or empty list,
    /// or no match, means `compat`, which every provider speaks. Unknown strings are skipped.
    public static func negotiate(consumerModes: [String]?, providerModes: Set<TransferMode>, pathSupportsBinary: Bool) -> TransferMode {
        for name in consumerModes ?? [] {
            guard let mode = TransferMode(rawValue: name), providerModes.contains(mode) else { continue }
            if mode.usesBinaryFrames && !pathSupportsBinary { continue }
            return mode
        }
        return .compat
    }
}
