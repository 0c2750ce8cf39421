import AtmoProtocol
import Foundation

/// The consumer side of a `websocket_chunked` transfer: checks each chunk (request, index,
/// length, SHA-256), hands the bytes over in file order, acknowledges, and decides when the
/// transfer is complete or must stop. A pure state machine (events in, actions out, time
/// passed in as milliseconds); the caller owns the sockets and the file.
///
/// Driving it:
/// 1. Send a `model_request` with the extension fields (`transfer_modes`, `sha256`, ...).
/// 2. On the `model_transfer_start`, `open(request:start:localNodeID:configuration:)`;
///    a refusal is a cancel to send. Then `start(now:)`.
/// 3. `receive(chunk:now:)` for every chunk of the request (JSON: `ReceivedChunk(message)`,
///    binary: `ReceivedChunk(frame)`), `receive(cancel:)` for its cancel,
///    `cancel(reason:message:)` to stop (storage full, user).
/// 4. `tick(now:)` when `nextDeadline` has passed (delayed acks, idle timeout); ticking
///    every 5-10 ms while a transfer runs works as well, early or late ticks are harmless.
///
/// Perform the actions in order: `.deliver` writes bytes at an offset (always in file
/// order, contiguous, exactly the requested range: feed them to the whole-file hash as they
/// come); `.sendAck` and `.cancel` send the message; `.complete` means every chunk arrived
/// (verify the whole file, then send `model_transfer_complete`).
///
/// `receive(chunk:now:)` computes the chunk's SHA-256 (about a millisecond per MiB): call it
/// off the event loop, where the bytes are written anyway.
///
/// A chunk ahead of the next expected one is dropped, not buffered (memory stays bounded by
/// one chunk): the sender resends from the gap (go-back-N), and in the fast modes an ack
/// sent at once tells it where the gap is. Over a WebSocket (TCP) path gaps are rare: they
/// follow a dropped message or a reconnection.
public struct ChunkReceiver: Sendable {
    /// Ack and timeout settings; the defaults are those of docs/TRANSFERS.md.
    public struct Configuration: Sendable, Hashable {
        /// Fast modes: ack once this many chunks are received and not acknowledged...
        public var ackEveryChunks: Int64 = 4
        /// ...or once this many bytes are.
        public var ackEveryBytes: Int64 = 1024 * 1024
        /// Fast modes: a `tick` acknowledges what has waited at least this long.
        public var ackDelayMs: Int64 = 5
        /// Acks are at least this far apart (the last one of the range excepted); 0: no
        /// limit. Acks count against a relay's per-connection message rate (50/s by default).
        public var minAckIntervalMs: Int64 = 0
        /// Copies of one chunk that fail their SHA-256 before cancelling with `hash_mismatch`.
        public var maxBadCopies = 3
        /// Cancel with `timeout` when no chunk arrives for this long; nil: 150 s in `compat`
        /// (the older sender gives up after 4 × 30 s), 60 s in the fast modes.
        public var idleTimeoutMs: Int64?

        /// The defaults.
        public init() {}
    }

    /// What the caller does next.
    public enum Action: Sendable, Hashable {
        /// Write `data` at file offset `offset` (in order, contiguous).
        case deliver(offset: Int64, data: Data)
        /// Send this ack.
        case sendAck(ModelTransferChunkAck)
        /// Every chunk of the range arrived; the last ack is already among the actions.
        case complete
        /// Send this `model_transfer_cancel` to the provider; the transfer is over.
        case cancel(ModelTransferCancel)
        /// The provider cancelled (its message); the transfer is over, nothing to send.
        case peerCancelled(ModelTransferCancel)
    }

    /// Where the transfer stands.
    public enum State: Sendable, Hashable {
        /// Opened, `start(now:)` not called yet.
        case ready
        /// Chunks are arriving.
        case receiving
        /// Every chunk arrived (duplicates are still acknowledged, for a sender that missed an ack).
        case complete
        /// Ended by a cancel, sent (`byPeer` false) or received.
        case cancelled(CancelReason, byPeer: Bool)
    }

    /// The answer to a `model_transfer_start`.
    public enum Opening: Sendable {
        /// Drive this receiver.
        case accepted(ChunkReceiver)
        /// Send this cancel: the start does not answer the request.
        case refused(ModelTransferCancel)
    }

    /// Counters for logs and tests.
    public struct Statistics: Sendable, Hashable {
        /// Chunks accepted (in order, verified).
        public var chunksAccepted = 0
        /// Accepted chunks that carried no SHA-256 (an older provider).
        public var unverifiedChunks = 0
        /// Copies of chunks already received.
        public var duplicates = 0
        /// Chunks ahead of the next expected one, dropped.
        public var gaps = 0
        /// Copies that failed their SHA-256.
        public var badChunks = 0
        /// Acks sent.
        public var acksSent = 0
    }

    /// The transfer's `request_id`.
    public let requestID: String
    /// The model being received.
    public let modelID: String
    /// This node's id, the `cancelled_by` of its cancels.
    public let localNodeID: String
    /// The mode the provider chose.
    public let mode: TransferMode
    /// The chunks the provider sends.
    public let range: ChunkRange
    /// The bytes delivered: `[deliverFrom, deliverTo)`, the range asked for (the chunks may
    /// start before it and end after it).
    public let deliverFrom: Int64
    /// See `deliverFrom`.
    public let deliverTo: Int64
    /// The settings in force.
    public let configuration: Configuration
    /// Where the transfer stands.
    public internal(set) var state: State = .ready
    /// Counters.
    public internal(set) var statistics = Statistics()
    /// The next chunk accepted; every chunk before it (in the range) is received.
    public internal(set) var nextExpectedChunk: Int64

    var pendingAckChunks: Int64 = 0
    var pendingAckBytes: Int64 = 0
    var pendingSinceMs: Int64?
    /// An ack is owed at once (after a duplicate or a gap), as soon as the interval allows.
    var ackRequested = false
    /// The chunk a `compat` duplicate ack names.
    var requestedAckIndex: Int64?
    var lastAckMs: Int64?
    var lastActivityMs: Int64 = 0
    var badCopiesOfNext = 0

    /// A receiver of `range`, delivering `[deliverFrom, deliverTo)` (clamped to the range).
    public init(
        requestID: String, modelID: String, localNodeID: String, mode: TransferMode, range: ChunkRange,
        deliverFrom: Int64? = nil, deliverTo: Int64? = nil, configuration: Configuration = Configuration()
    ) {
        self.requestID = requestID
        self.modelID = modelID
        self.localNodeID = localNodeID
        self.mode = mode
        self.range = range
        self.deliverFrom = min(max(deliverFrom ?? range.startByte, range.startByte), range.endByte)
        self.deliverTo = max(min(deliverTo ?? range.endByte, range.endByte), self.deliverFrom)
        self.configuration = configuration
        self.nextExpectedChunk = range.firstChunk
    }

    /// Checks that `start` answers `request` (same request and model; the requested version;
    /// a mode the consumer offered; a chunk size within the mode's and the consumer's limits;
    /// a range that covers the bytes asked for) and builds the receiver. An older provider's
    /// start (no `transfer_mode`, `start_byte`, `end_byte`) means `compat`, from
    /// `resume_from_byte` rounded down to a chunk, to the end of the file.
    public static func open(
        request: ModelRequest, start: ModelTransferStart, localNodeID: String, configuration: Configuration = Configuration()
    ) -> Opening {
        func refuse(_ reason: CancelReason, _ message: String) -> Opening {
            .refused(
                ModelTransferCancel(
                    requestID: request.requestID, modelID: request.modelID, reason: reason, message: message, cancelledBy: localNodeID))
        }
        guard start.requestID == request.requestID, start.modelID == request.modelID else {
            return refuse(
                .protocolError, "the start for \(start.modelID) (request \(start.requestID)) does not answer request \(request.requestID)")
        }
        if let wanted = request.sha256, wanted.lowercased() != start.sha256.lowercased() {
            return refuse(.hashMismatch, "\(request.modelID): version \(wanted) was requested, the provider offers \(start.sha256)")
        }
        guard start.transferMethod == "websocket_chunked" else {
            return refuse(.protocolError, "transfer_method \(start.transferMethod) is not websocket_chunked")
        }
        guard let mode = start.mode else { return refuse(.protocolError, "unknown transfer_mode \(start.transferMode ?? "")") }
        guard mode == .compat || request.knownTransferModes.contains(mode) else {
            return refuse(.protocolError, "transfer_mode \(mode.rawValue) was not offered")
        }
        let chunkSize = start.chunkSize
        let limit = min(mode.maxChunkBytes, request.maxChunkBytes ?? .max)
        guard chunkSize <= limit else {
            return refuse(.protocolError, "chunk_size \(chunkSize) exceeds \(limit) bytes (\(mode.rawValue))")
        }
        let total = start.totalBytes
        guard request.resumeFromByte <= total else {
            return refuse(.protocolError, "resume_from_byte \(request.resumeFromByte) is beyond the file's \(total) bytes")
        }
        let resume = request.resumeFromByte
        let wantedEnd = max(resume, min(request.endByte ?? total, total))
        // An older provider states no range: it sends from the chunk holding resume_from_byte to the end.
        let olderStart = resume == total ? total : resume - resume % max(chunkSize, 1)
        guard
            let range = ChunkRange(
                totalBytes: total, chunkSize: chunkSize, startByte: start.startByte ?? olderStart, endByte: start.endByte ?? total)
        else {
            return refuse(.protocolError, "start_byte/end_byte \(start.startByte ?? -1)..<\(start.endByte ?? -1) are not chunk-aligned")
        }
        guard range.startByte <= resume, resume - range.startByte < chunkSize, range.endByte >= wantedEnd else {
            return refuse(
                .protocolError,
                "the provider sends bytes \(range.startByte)..<\(range.endByte), which do not cover \(resume)..<\(wantedEnd)")
        }
        let receiver = ChunkReceiver(
            requestID: request.requestID, modelID: request.modelID, localNodeID: localNodeID, mode: mode, range: range,
            deliverFrom: resume, deliverTo: wantedEnd, configuration: configuration)
        return .accepted(receiver)
    }

    /// Starts receiving at `now`: `.complete` at once for an empty range.
    public mutating func start(now: Int64) -> [Action] {
        guard state == .ready else { return [] }
        lastActivityMs = now
        guard !range.isEmpty else {
            state = .complete
            return [.complete]
        }
        state = .receiving
        return []
    }

    /// Stops the transfer from this side: the cancel to send, unless it is already over.
    public mutating func cancel(reason: CancelReason, message: String) -> [Action] {
        guard state == .ready || state == .receiving else { return [] }
        return end(reason, message)
    }

    /// The provider's `model_transfer_cancel`: ends the transfer with its reason. A cancel for
    /// another request id is ignored.
    public mutating func receive(cancel: ModelTransferCancel) -> [Action] {
        guard cancel.requestID == requestID, state == .ready || state == .receiving else { return [] }
        state = .cancelled(cancel.reason, byPeer: true)
        return [.peerCancelled(cancel)]
    }

    /// Bytes of the range received in order so far.
    public var receivedBytes: Int64 { range.bytesThrough(nextExpectedChunk - 1) }

    /// Bytes delivered so far (of `[deliverFrom, deliverTo)`).
    public var deliveredBytes: Int64 {
        max(0, min(range.startByte + receivedBytes, deliverTo) - deliverFrom)
    }

    /// Ends the transfer from this side with `reason`.
    mutating func end(_ reason: CancelReason, _ message: String) -> [Action] {
        state = .cancelled(reason, byPeer: false)
        let cancel = ModelTransferCancel(requestID: requestID, modelID: modelID, reason: reason, message: message, cancelledBy: localNodeID)
        return [.cancel(cancel)]
    }
}
