import AtmoProtocol
import AtmoTransfer
import Foundation
import NIOCore

/// A pull's channel to a node reached through a relay, or over the node's own WebSocket
/// endpoint (`direct`): each piece is one `websocket_chunked` transfer of exactly its byte
/// range (`model_request` with `resume_from_byte` and `end_byte`), received by a
/// `ChunkReceiver` that verifies every chunk. The pull's partial file, piece map and
/// whole-file hash are the same as over HTTP, so a pull may switch between routes mid-way and
/// keep what it has.
struct RelaySourceChannel: SourceChannel {
    let nodeID: String
    let hub: TransferHub
    let mesh: MeshState
    let localNodeID: String
    /// The provider's own WebSocket, when this source is that instead of the relays.
    var direct: DirectSocketLink? = nil
    /// Modes offered, best first (`fast_binary` only when the route carries binary frames).
    var modes: [TransferMode] = [.fastBinary, .fastText, .compat]
    /// How long a piece may go without a chunk before it fails (and is retried).
    var stallTimeout: Duration = .seconds(30)
    /// How long the provider may take to answer a request with its start.
    var startTimeout: Duration = .seconds(15)
    /// How long a piece waits for a route to the provider: long enough for a relay restart
    /// and the links' reconnect, short enough that a relay gone for good hands the pull to
    /// the next route soon (each piece tries `maxAttemptsBeforeFailover` times).
    var routeWait: Duration = .seconds(10)
    /// How long a piece query's answer may take (a manifest gets a second per MiB more).
    var queryTimeout: Duration = .seconds(5)
    var receiverConfiguration = ChunkReceiver.Configuration()
    /// The node's bandwidth shaper: each piece's bytes are admitted before it is requested,
    /// and the time from a request to its start is a round-trip sample (nil: no limits).
    var shaper: BandwidthShaper? = nil
    /// Whether the pull is a background transfer for the shaper (the node's `normal` and
    /// `low` downloads): its pieces then yield to the delay controller of this peer, as HTTP
    /// pulls do (`PullEngine` sets it through `shapedAsBackground`).
    var background = false

    /// How often a transfer's clock ticks (delayed acks wait 5 ms).
    static let tickInterval = Duration.milliseconds(5)

    var address: String { direct?.url ?? "relay://\(nodeID)" }

    /// Four pieces at a time (8 MiB of 2 MiB pieces in flight): each piece costs a round
    /// trip to open and one to end, and the others' chunks fill those. A compatibility route
    /// (no fast mode offered) is one stream, as the older design expects.
    var maxConcurrentPieces: Int { modes.contains { $0.isFast } ? 4 : 1 }

    func entry(modelID: String) async throws(TransferError) -> ModelEntry? {
        guard direct != nil || hub.reaches(nodeID) else {
            throw TransferError(.peerUnreachable, "node \(nodeID) is on no relay this node is connected to (see `atmo peers`)")
        }
        return mesh.state.withLock { $0.gossip.catalog(of: nodeID)?.models.first { $0.modelID == modelID } }
    }

    func shapedAsBackground(_ background: Bool) -> any SourceChannel {
        var channel = self
        channel.background = background
        return channel
    }

    /// Nothing to announce: every piece is its own request.
    func requestTransfer(_ request: ModelRequest) async throws(TransferError) -> ModelTransferStart? { nil }

    /// Tells the provider how the pull ended; the pull is done with this source, so a direct
    /// socket is closed (after its frames had a moment to leave).
    func report(_ outcome: TransferReport, timeout: TimeAmount?) async {
        if let route = hub.route(to: nodeID, via: direct?.linkID) {
            switch outcome {
            case .complete(let complete): _ = route.send(RelayPayload.direct(complete, to: nodeID))
            case .cancel(let cancel): _ = route.send(RelayPayload.direct(cancel, to: nodeID))
            }
        }
        if let direct {
            try? await Task.sleep(for: .milliseconds(200))
            direct.close()
        }
    }

    /// One transfer of the bytes `[offset, offset + length)`; a lost relay path throws
    /// `RelayRouteLost` with the bytes that came (`fetchPiece` fails the piece as a lost link).
    func fetchRange(
        of entry: ModelEntry, offset: Int64, length: Int64, received: @escaping @Sendable (Int64) -> Void
    ) async throws -> ByteBuffer {
        if let direct { try await direct.open() }
        // A relay that restarts, or a link that reconnects, comes back within seconds: wait
        // for it rather than fail the piece at once.
        guard let route = await hub.waitForRoute(to: nodeID, via: direct?.linkID, timeout: direct == nil ? routeWait : .zero) else {
            // A pull that no longer wants the piece stopped the wait: say so, not "no relay".
            try Task.checkCancellation()
            throw TransferError(
                .peerUnreachable, "node \(nodeID) has been on no relay this node is connected to for \(routeWait)")
        }
        let offered = route.binary ? modes : modes.filter { !$0.usesBinaryFrames }
        let request = ModelRequest(
            requestID: UUID().uuidString.lowercased(), requesterNodeID: localNodeID, targetNodeID: nodeID, modelID: entry.modelID,
            resumeFromByte: offset, transport: .websocket, sha256: entry.sha256, endByte: offset + length,
            transferModes: offered.isEmpty ? [.compat] : offered)
        try await shaper?.admit(Int(length), direction: .down, peer: nodeID, modelSize: entry.sizeBytes, background: background)
        let inbox = hub.open(requestID: request.requestID, peer: nodeID)
        defer { hub.close(requestID: request.requestID) }
        let requested = ContinuousClock.now
        guard route.send(RelayPayload.direct(request, to: nodeID)) else {
            throw TransferError(.peerUnreachable, "the relay link to node \(nodeID) is overloaded or closing")
        }
        let events = TickingEvents(inbox, every: Self.tickInterval)
        defer { events.stop() }
        var piece = PieceReception(
            request: request, route: route, peer: nodeID, length: length, received: received,
            configuration: receiverConfiguration)
        let clock = ContinuousClock()
        var lastProgress = clock.now
        for await event in events.stream {
            if case .tick = event { events.ticked() }
            let wasStarted = piece.isStarted
            let progressed = try piece.handle(event, now: MeshState.now())
            if !wasStarted, piece.isStarted { shaper?.recordRoundTrip(ContinuousClock.now - requested, peer: nodeID, direction: .down) }
            if let buffer = piece.result { return buffer }
            if progressed {
                lastProgress = clock.now
            } else if clock.now - lastProgress > (piece.isStarted ? stallTimeout : startTimeout) {
                piece.giveUp(.timeout, "no data from node \(nodeID) through the relay for \(piece.isStarted ? stallTimeout : startTimeout)")
                throw TransferError(
                    .timeout, "node \(nodeID) sent nothing through the relay for \(piece.isStarted ? stallTimeout : startTimeout)")
            }
        }
        throw RelayRouteLost(
            "the relay path to node \(nodeID) closed", reason: "the transfer's events ended", partial: piece.bytesSoFar)
    }
}

/// One piece arriving: waits for the start, then drives the `ChunkReceiver` and assembles
/// the bytes.
struct PieceReception {
    let request: ModelRequest
    let route: TransferHub.Route
    let peer: String
    let length: Int64
    let received: @Sendable (Int64) -> Void
    let configuration: ChunkReceiver.Configuration
    private var receiver: ChunkReceiver?
    private var buffer: ByteBuffer
    /// The assembled piece, once complete.
    private(set) var result: ByteBuffer?

    init(
        request: ModelRequest, route: TransferHub.Route, peer: String, length: Int64, received: @escaping @Sendable (Int64) -> Void,
        configuration: ChunkReceiver.Configuration
    ) {
        self.request = request
        self.route = route
        self.peer = peer
        self.length = length
        self.received = received
        self.configuration = configuration
        buffer = ByteBufferAllocator().buffer(capacity: Int(length))
    }

    var isStarted: Bool { receiver != nil }
    /// The bytes assembled so far, in order from the request's first byte.
    var bytesSoFar: ByteBuffer { buffer }

    /// Handles one event; true when it moved the piece forward (a start or a chunk).
    mutating func handle(_ event: TickingEvents.Event, now: Int64) throws -> Bool {
        switch event {
        case .tick:
            guard var receiver else { return false }
            let actions = receiver.tick(now: now)
            self.receiver = receiver
            try perform(actions)
            return false
        case .relay(.pathLost(let why)):
            throw RelayRouteLost("relay path to node \(peer) lost: \(why)", reason: why, partial: buffer)
        case .relay(.unreadable(let why)):
            let message = "node \(peer) sent a transfer message this node cannot read: \(why)"
            if isStarted {
                giveUp(.protocolError, message)
            } else {
                let cancel = ModelTransferCancel(
                    requestID: request.requestID, modelID: request.modelID, reason: .protocolError, message: message,
                    cancelledBy: request.requesterNodeID)
                _ = route.send(RelayPayload.direct(cancel, to: peer))
            }
            throw TransferError(.protocolViolation, message)
        case .relay(.message(.transferStart(let start))):
            guard receiver == nil else { return false }
            switch ChunkReceiver.open(request: request, start: start, localNodeID: request.requesterNodeID, configuration: configuration) {
            case .refused(let cancel):
                _ = route.send(RelayPayload.direct(cancel, to: peer))
                throw Self.error(for: cancel, peer: peer, sent: true)
            case .accepted(var opened):
                let actions = opened.start(now: now)
                receiver = opened
                try perform(actions)
                return true
            }
        case .relay(.message(.chunk(let chunk))):
            return try receive(ReceivedChunk(chunk), now: now)
        case .relay(.binary(let payload)):
            let frame: FastChunkFrame
            do {
                frame = try FastChunkFrame.decode(payload.readableBytesView)
            } catch {
                throw TransferError(.protocolViolation, "node \(peer) sent an unreadable chunk frame: \(error)")
            }
            return try receive(ReceivedChunk(frame), now: now)
        case .relay(.message(.cancel(let cancel))):
            guard var receiver else { throw Self.error(for: cancel, peer: peer, sent: false) }
            let actions = receiver.receive(cancel: cancel)
            self.receiver = receiver
            try perform(actions)
            return false
        case .relay(.message), .relay(.pieces):
            return false
        }
    }

    private mutating func receive(_ chunk: ReceivedChunk, now: Int64) throws -> Bool {
        guard var receiver else { return false }  // chunks before the start: the sender resends
        let actions = receiver.receive(chunk: chunk, now: now)
        self.receiver = receiver
        try perform(actions)
        return true
    }

    /// Stops the piece, telling the provider why.
    mutating func giveUp(_ reason: CancelReason, _ message: String) {
        guard var receiver else { return }
        let actions = receiver.cancel(reason: reason, message: message)
        self.receiver = receiver
        try? perform(actions)
    }

    private mutating func perform(_ actions: [ChunkReceiver.Action]) throws {
        for action in actions {
            switch action {
            case .deliver(_, let data):
                buffer.writeBytes(data)
                received(Int64(buffer.readableBytes))
            case .sendAck(let ack):
                _ = route.send(RelayPayload.direct(ack, to: peer))
            case .complete:
                guard buffer.readableBytes == length else {
                    throw TransferError(.protocolViolation, "node \(peer) completed a piece of \(buffer.readableBytes) bytes, not \(length)")
                }
                result = buffer
            case .cancel(let cancel):
                _ = route.send(RelayPayload.direct(cancel, to: peer))
                throw Self.error(for: cancel, peer: peer, sent: true)
            case .peerCancelled(let cancel):
                throw Self.error(for: cancel, peer: peer, sent: false)
            }
        }
    }

    /// The pull's error for a cancelled piece: another version or repeated bad chunks mean
    /// this source cannot give the pinned artefact; anything else may be retried.
    static func error(for cancel: ModelTransferCancel, peer: String, sent: Bool) -> TransferError {
        let who = sent ? "cancelled the relayed piece from node \(peer)" : "node \(peer) cancelled the relayed piece"
        let message = "\(who): \(cancel.reason) (\(cancel.message))"
        return TransferError(ErrorMapping.peerCode(forCancel: cancel.reason), message)
    }
}
