import AtmoProtocol
import Foundation

/// The file a provider serves for a `model_request`, as the sender needs to know it.
public struct ChunkSource: Sendable, Hashable {
    /// The whole file's size.
    public var totalBytes: Int64
    /// Lowercase hex SHA-256 of the whole file (the version held).
    public var sha256: String
    /// The `metadata` of the start message.
    public var metadata: ModelTransferStart.Metadata

    /// A file of `totalBytes` bytes whose SHA-256 is `sha256`.
    public init(totalBytes: Int64, sha256: String, metadata: ModelTransferStart.Metadata) {
        self.totalBytes = totalBytes
        self.sha256 = sha256.lowercased()
        self.metadata = metadata
    }
}

/// One chunk to read from the file and send: `length` bytes at `offset`, chunk `index`.
public struct ChunkSlice: Sendable, Hashable {
    /// The absolute chunk index.
    public var index: Int64
    /// The file offset of its first byte (`index × chunkSize`).
    public var offset: Int64
    /// Its length in bytes.
    public var length: Int64

    /// A slice of the file.
    public init(index: Int64, offset: Int64, length: Int64) {
        self.index = index
        self.offset = offset
        self.length = length
    }
}

/// The provider side of a `websocket_chunked` transfer: which chunk to send when, what to
/// resend, when to give up. A pure state machine (events in, actions out, time passed in
/// as milliseconds); the caller reads the file, frames chunks and owns the sockets.
///
/// Driving it:
/// 1. `open(request:source:localNodeID:pathSupportsBinary:configuration:)` on a
///    `model_request`: send the returned `model_transfer_start` (or the refusal's cancel).
/// 2. `start(now:)` right after sending the start message.
/// 3. `receive(ack:now:)` for every `model_transfer_chunk_ack` of this request,
///    `receive(cancel:)` for its `model_transfer_cancel`, `cancel(reason:message:)` to stop.
/// 4. `tick(now:)` when `nextDeadline` has passed (a timer, or a periodic tick: early or
///    late ticks are harmless, late ones only delay a resend).
///
/// Perform the actions in order: `.send`/`.resend` read the slice and send it
/// (`textChunk(_:data:)` or `binaryFrame(_:data:)` by `mode`); `.cancel` sends the message
/// and ends; `.finished` (every chunk acknowledged) and `.peerCancelled` end without sending.
/// `textChunk` and `binaryFrame` hash the chunk: build them off the event loop, with the read.
public struct ChunkSender: Sendable {
    /// Flow-control settings; the defaults are those of docs/TRANSFERS.md.
    public struct Configuration: Sendable, Hashable {
        /// The modes this provider offers (`compat` is always spoken, listed or not).
        public var supportedModes: Set<TransferMode> = Set(TransferMode.allCases)
        /// The fast modes' largest window in bytes.
        public var maxWindowBytes: Int64 = 16 * 1024 * 1024
        /// The fast modes' window before any measurement, in chunks.
        public var initialWindowChunks: Int64 = 4
        /// The fast modes' smallest window, in chunks.
        public var minWindowChunks: Int64 = 2
        /// The fast modes' most chunks in flight, whatever the window in bytes: small chunks
        /// must not queue more messages at a relay than it holds for one peer (1,024 by default).
        public var maxChunksInFlight = 256
        /// `compat`: chunks sent and not acknowledged at most.
        public var compatChunksInFlight = 2
        /// `compat`: a chunk not acknowledged after this long is resent.
        public var compatResendTimeoutMs: Int64 = 30_000
        /// Fast modes: the floor of the resend timeout (`max(this, 4 × smoothed RTT)`).
        public var minResendTimeoutMs: Int64 = 1_000
        /// Fast modes: the resend timeout before any RTT sample.
        public var initialResendTimeoutMs: Int64 = 3_000
        /// Resends of one chunk (without progress, in the fast modes) before cancelling with `timeout`.
        public var maxResends = 3
        /// Chunks (sends and resends) per second at most; nil: unpaced. Text chunks count
        /// against a relay's per-connection message rate (50/s by default), binary frames do not.
        public var maxChunksPerSecond: Double?
        /// Chunks that may go out at once above `maxChunksPerSecond`.
        public var chunkBurst: Double = 8
        /// Every transmission (send or resend) needs credit in bytes from the caller
        /// (`grant(_:now:)`): the node's bandwidth shaper paces the transfer from outside,
        /// and a chunk's send time is stamped when it really goes (so neither its RTT sample
        /// nor its resend timer counts the wait). `creditWanted` says what to ask for.
        public var needsCredit = false

        /// The defaults.
        public init() {}
    }

    /// What the caller does next.
    public enum Action: Sendable, Hashable {
        /// Read the slice from the file and send it as a chunk (first transmission).
        case send(ChunkSlice)
        /// Read the slice and send it again (it was not acknowledged in time).
        case resend(ChunkSlice)
        /// Every chunk of the range is acknowledged: the transfer is done on this side.
        case finished
        /// Send this `model_transfer_cancel` to the consumer; the transfer is over.
        case cancel(ModelTransferCancel)
        /// The consumer cancelled (its message); the transfer is over, nothing to send.
        case peerCancelled(ModelTransferCancel)
    }

    /// Where the transfer stands.
    public enum State: Sendable, Hashable {
        /// Opened, `start(now:)` not called yet.
        case ready
        /// Chunks are moving.
        case sending
        /// Every chunk acknowledged.
        case finished
        /// Ended by a cancel, sent (`byPeer` false) or received.
        case cancelled(CancelReason, byPeer: Bool)
    }

    /// The answer to a `model_request`.
    public enum Opening: Sendable {
        /// Send `start`, then drive the sender.
        case accepted(ChunkSender, start: ModelTransferStart)
        /// Send this cancel instead (another version held, a range outside the file).
        case refused(ModelTransferCancel)
    }

    /// Counters for logs and tests.
    public struct Statistics: Sendable, Hashable {
        /// First transmissions.
        public var chunksSent = 0
        /// Retransmissions.
        public var chunksResent = 0
        /// Acks received for this request.
        public var acks = 0
        /// Acks that acknowledged nothing new.
        public var duplicateAcks = 0
        /// Acks for chunks already released (or before the range): ignored.
        public var staleAcks = 0
        /// Resend timeouts that fired.
        public var timeouts = 0
    }

    /// The transfer's `request_id`.
    public let requestID: String
    /// The model being sent.
    public let modelID: String
    /// This node's id, the `cancelled_by` of its cancels.
    public let localNodeID: String
    /// The negotiated mode.
    public let mode: TransferMode
    /// The chunks to send.
    public let range: ChunkRange
    /// The settings in force.
    public let configuration: Configuration
    /// Where the transfer stands.
    public internal(set) var state: State = .ready
    /// The fast modes' window estimate (kept, but not used for flow control, in `compat`).
    public internal(set) var estimator: WindowEstimator
    /// Counters.
    public internal(set) var statistics = Statistics()
    /// Bytes of the range acknowledged so far.
    public internal(set) var ackedBytes: Int64 = 0
    /// With `needsCredit`: the bytes the next transmission waits for, when only credit holds
    /// it back (nil: the window, pacing or the end holds it back, or it has its credit).
    public internal(set) var creditWanted: Int64?
    /// Round-trip samples taken so far (each newly acknowledged chunk sent once gives one).
    public internal(set) var roundTripSamples = 0
    /// The latest round-trip sample, in milliseconds.
    public internal(set) var latestRoundTripMs: Int64?

    /// Chunks `baseIndex ..< nextNew`, sent and not yet released (acked ones at the front are released).
    var outstanding: [OutstandingChunk] = []
    /// The first chunk never sent.
    var nextNew: Int64
    /// Fast modes: the next chunk to transmit (below `nextNew` after a go-back).
    var sendCursor: Int64
    var inFlightBytes: Int64 = 0
    var inFlightCount = 0
    var deliveredTimeMs: Int64 = 0
    var firstSentTimeMs: Int64 = 0
    var lastProgressMs: Int64 = 0
    var tokens: Double = 0
    var tokensStampMs: Int64 = 0
    var pacingBlocked = false
    var credit: Int64 = 0

    /// A sender of `range` in `mode`; `open` builds one from a request.
    public init(
        requestID: String, modelID: String, localNodeID: String, mode: TransferMode, range: ChunkRange,
        configuration: Configuration = Configuration()
    ) {
        self.requestID = requestID
        self.modelID = modelID
        self.localNodeID = localNodeID
        self.mode = mode
        self.range = range
        self.configuration = configuration
        var window = WindowEstimator.Configuration(chunkBytes: range.chunkSize, maxWindowBytes: configuration.maxWindowBytes)
        window.initialWindowChunks = configuration.initialWindowChunks
        window.minWindowChunks = configuration.minWindowChunks
        window.minResendTimeoutMs = configuration.minResendTimeoutMs
        window.initialResendTimeoutMs = configuration.initialResendTimeoutMs
        self.estimator = WindowEstimator(configuration: window)
        self.nextNew = range.firstChunk
        self.sendCursor = range.firstChunk
        self.tokens = configuration.chunkBurst
    }

    /// Answers a `model_request` for the file `source`: checks the version and the range,
    /// negotiates the mode (`TransferMode.negotiate`; `fast_binary` only when
    /// `pathSupportsBinary` and the request id fits a `FastChunkFrame`) and the chunk size,
    /// and builds the `model_transfer_start` (`transfer_method` `websocket_chunked`). An older
    /// consumer (no `transfer_modes`) gets the older start message, without the new fields.
    public static func open(
        request: ModelRequest, source: ChunkSource, localNodeID: String, pathSupportsBinary: Bool,
        configuration: Configuration = Configuration()
    ) -> Opening {
        func refuse(_ reason: CancelReason, _ message: String) -> Opening {
            .refused(
                ModelTransferCancel(
                    requestID: request.requestID, modelID: request.modelID, reason: reason, message: message, cancelledBy: localNodeID))
        }
        if let wanted = request.sha256, wanted.lowercased() != source.sha256 {
            return refuse(.hashMismatch, "\(request.modelID): version \(wanted) was requested, but this node holds \(source.sha256)")
        }
        guard request.resumeFromByte <= source.totalBytes else {
            return refuse(
                .protocolError,
                "resume_from_byte \(request.resumeFromByte) is beyond the end of \(request.modelID) (\(source.totalBytes) bytes)")
        }
        if let end = request.endByte, end < request.resumeFromByte {
            return refuse(.protocolError, "end_byte \(end) is before resume_from_byte \(request.resumeFromByte)")
        }
        let frameFits =
            (try? FastChunkFrame.headerBytes(
                requestID: request.requestID, chunkIndex: 0, dataLength: 0, sha256: Array(repeating: 0, count: 32))) != nil
        let mode = TransferMode.negotiate(
            consumerModes: request.transferModes, providerModes: configuration.supportedModes,
            pathSupportsBinary: pathSupportsBinary && frameFits)
        let chunkSize = mode.chunkBytes(consumerMax: request.maxChunkBytes)
        guard
            let range = ChunkRange.covering(
                from: request.resumeFromByte, to: request.endByte, totalBytes: source.totalBytes, chunkSize: chunkSize)
        else {
            return refuse(.protocolError, "no chunk range covers bytes \(request.resumeFromByte)..<\(request.endByte ?? source.totalBytes)")
        }
        let newConsumer = request.transferModes != nil
        let start = ModelTransferStart(
            requestID: request.requestID, modelID: request.modelID, totalBytes: source.totalBytes, chunkSize: chunkSize,
            sha256: source.sha256, metadata: source.metadata, transferMethod: "websocket_chunked",
            transferMode: newConsumer ? mode : nil, startByte: newConsumer ? range.startByte : nil,
            endByte: newConsumer ? range.endByte : nil)
        let sender = ChunkSender(
            requestID: request.requestID, modelID: request.modelID, localNodeID: localNodeID, mode: mode, range: range,
            configuration: configuration)
        return .accepted(sender, start: start)
    }

    /// Starts sending at `now` (after the start message went out): the first chunks, or
    /// `.finished` at once for an empty range.
    public mutating func start(now: Int64) -> [Action] {
        guard state == .ready else { return [] }
        state = .sending
        deliveredTimeMs = now
        firstSentTimeMs = now
        lastProgressMs = now
        tokensStampMs = now
        guard !range.isEmpty else {
            state = .finished
            return [.finished]
        }
        return fill(now: now)
    }

    /// Stops the transfer from this side: the cancel to send, unless it is already over.
    public mutating func cancel(reason: CancelReason, message: String) -> [Action] {
        guard state == .ready || state == .sending else { return [] }
        state = .cancelled(reason, byPeer: false)
        return [.cancel(cancelMessage(reason, message))]
    }

    /// The consumer's `model_transfer_cancel`: ends the transfer with its reason. A cancel for
    /// another request id is ignored.
    public mutating func receive(cancel: ModelTransferCancel) -> [Action] {
        guard cancel.requestID == requestID, state == .ready || state == .sending else { return [] }
        state = .cancelled(cancel.reason, byPeer: true)
        return [.peerCancelled(cancel)]
    }

    /// A cancel message from this node.
    func cancelMessage(_ reason: CancelReason, _ message: String) -> ModelTransferCancel {
        ModelTransferCancel(requestID: requestID, modelID: modelID, reason: reason, message: message, cancelledBy: localNodeID)
    }

    /// The consumer broke the protocol: cancel with `protocol_error`.
    mutating func protocolViolation(_ message: String) -> [Action] {
        state = .cancelled(.protocolError, byPeer: false)
        return [.cancel(cancelMessage(.protocolError, message))]
    }
}

/// A chunk sent and not yet released.
struct OutstandingChunk: Sendable, Hashable {
    let index: Int64
    let length: Int64
    var lastSentMs: Int64
    var transmissions = 1
    /// Resend timeouts that fired while this chunk was the oldest unacknowledged one.
    var timeouts = 0
    var acked = false
    /// Counted in the bytes in flight (false once acked, or presumed lost by a timeout).
    var inFlight = true
    /// The sender's delivered bytes, delivery time and first-sent time when this chunk was
    /// sent: the BBR delivery-rate sample's start.
    var deliveredAtSend: Int64
    var deliveredTimeAtSend: Int64
    var firstSentTimeAtSend: Int64
}
