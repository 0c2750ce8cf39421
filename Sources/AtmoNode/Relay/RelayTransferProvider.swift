import AtmoProtocol
import AtmoStore
import AtmoTransfer
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Serves this node's models to peers that reach it through a relay or its own WebSocket
/// endpoint: each `model_request`
/// the hub hands over becomes a `websocket_chunked` transfer of the byte range asked for,
/// driven by a `ChunkSender` (mode negotiated per request: binary frames when both ends and
/// the relay take them, else JSON chunks). Files are read on the node's file threads;
/// requests, served bytes and the consumers' reports go to the ledger like HTTP downloads.
/// A file this node is still pulling is served too, range by range, from its verified
/// pieces (`RelayTransferProvider+Partial`); piece queries (which pieces, the manifest) are
/// answered too (`RelayTransferProvider+Pieces`).
struct RelayTransferProvider: Sendable {
    let hub: TransferHub
    let inventory: Inventory
    /// The files this node is pulling.
    let partialOffers: PartialOffers
    let ledger: TransferLedger
    let nodeID: String
    let fileReaders: NIOThreadPool
    let logger: Logger
    var configuration = ChunkSender.Configuration()
    /// The node's bandwidth shaper (nil: no limits).
    var shaper: BandwidthShaper? = nil
    /// The bounds on uploads at once, per requesting node and in all (`RelayUploadAdmission`).
    var uploads = RelayUploadSlots()

    /// How often a transfer's clock ticks (resend timers are 1 s and up).
    static let tickInterval = Duration.milliseconds(20)

    /// Serves requests until the hub finishes or the task is cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await report in hub.reports {
                    switch report {
                    case .complete(let complete): ledger.record(complete)
                    case .cancel(let cancel): ledger.record(cancel)
                    }
                }
            }
            group.addTask { await answerQueries() }
            for await (request, peer, link) in hub.requests {
                group.addTask { await serve(request, to: peer, via: link) }
            }
            group.cancelAll()
        }
    }

    /// Answers `request` from `peer` over the link it came through.
    func serve(_ request: ModelRequest, to peer: String, via link: String) async {
        ledger.requested()
        guard let route = hub.route(to: peer, via: link) else { return }
        func refuse(_ reason: CancelReason, _ message: String) {
            let cancel = ModelTransferCancel(
                requestID: request.requestID, modelID: request.modelID, reason: reason, message: message, cancelledBy: nodeID)
            _ = route.send(RelayPayload.direct(cancel, to: peer))
        }
        let admitted = await uploads.acquire(peer: peer)
        if let message = admitted.refusal(nodeID: nodeID, limits: uploads.limits) {
            logger.debug("relayed transfer refused", metadata: ["peer": "\(peer)", "reason": "\(message)"])
            refuse(.timeout, message)
            return
        }
        defer { uploads.release(peer: peer) }
        guard let holding = holding(for: request) else {
            refuse(.protocolError, "\(request.modelID) is not offered by node \(nodeID)")
            return
        }
        switch ChunkSender.open(
            request: holding.fitted(request), source: holding.source, localNodeID: nodeID, pathSupportsBinary: route.binary,
            configuration: UploadShaping.configuration(configuration, shaper: shaper))
        {
        case .refused(let cancel):
            _ = route.send(RelayPayload.direct(cancel, to: peer))
        case .accepted(let sender, let start):
            let file: any ServedFile
            do {
                file = try await open(holding, range: sender.range)
            } catch let refusal as PartialRefusal {
                refuse(.notHeld, refusal.message)
                return
            } catch {
                refuse(.protocolError, "\(request.modelID) cannot be read on node \(nodeID) now (\(error)); try again shortly")
                return
            }
            let inbox = hub.open(requestID: request.requestID, peer: peer)
            defer { hub.close(requestID: request.requestID) }
            guard route.send(RelayPayload.direct(start, to: peer)) else { return }
            ledger.downloadStarted()
            ledger.usage.record(.served, sha256: holding.entry.sha256, modelID: holding.entry.modelID)
            var transfer = ProviderTransfer(sender: sender, file: file, route: route, peer: peer, fileReaders: fileReaders)
            transfer.shaping = shaper.map { UploadShaping(shaper: $0, peer: peer, modelSize: holding.source.totalBytes) }
            let direct = route.relay.hasPrefix(TransferHub.directLinkPrefix)
            transfer.progress = ledger.uploads.begin(
                modelID: holding.entry.modelID, sha256: holding.entry.sha256, peer: peer, route: direct ? "direct" : "relay",
                sizeBytes: sender.range.endByte - sender.range.startByte)
            await transfer.run(inbox)
            transfer.progress.map(ledger.uploads.end)
            ledger.downloadEnded(
                bytes: transfer.tally.served, resent: transfer.tally.resent, route: direct ? .directWS : .relay, peer: peer)
            logger.debug(
                "relayed transfer ended",
                metadata: [
                    "model": "\(request.modelID)", "peer": "\(peer)", "mode": "\(sender.mode.rawValue)",
                    "bytes": "\(transfer.tally.served)", "resent": "\(transfer.tally.resent)", "state": "\(transfer.sender.state)",
                ])
        }
    }
}

/// One relayed transfer on the provider's side: the sender's actions performed, its events fed.
struct ProviderTransfer {
    var sender: ChunkSender
    let file: any ServedFile
    let route: TransferHub.Route
    let peer: String
    let fileReaders: NIOThreadPool
    /// The bytes put on the link: served (each chunk once) and resent (UploadTally).
    private(set) var tally = UploadTally()
    /// Paces the sender with the node's shaper (UploadShaping).
    var shaping: UploadShaping?
    /// The dashboard's entry of this upload (`GET /v1/node`'s `serving`).
    var progress: ActiveUploads.Upload?

    init(sender: ChunkSender, file: any ServedFile, route: TransferHub.Route, peer: String, fileReaders: NIOThreadPool) {
        self.sender = sender
        self.file = file
        self.route = route
        self.peer = peer
        self.fileReaders = fileReaders
    }

    mutating func run(_ inbox: AsyncStream<RelayTransferEvent>) async {
        let events = TickingEvents(inbox, every: RelayTransferProvider.tickInterval)
        defer { events.stop() }
        guard await perform(sender.start(now: MeshState.now())), await performCredit() else { return }
        for await event in events.stream {
            let now = MeshState.now()
            let actions: [ChunkSender.Action]
            switch event {
            case .tick:
                events.ticked()
                actions = sender.tick(now: now)
            case .relay(.message(.chunkAck(let ack))): actions = sender.receive(ack: ack, now: now)
            case .relay(.message(.cancel(let cancel))): actions = sender.receive(cancel: cancel)
            case .relay(.pathLost(let why)): actions = sender.cancel(reason: .networkError, message: why)
            case .relay(.unreadable(let why)):
                actions = sender.cancel(reason: .protocolError, message: "node \(peer) sent a message this node cannot read: \(why)")
            case .relay: actions = []
            }
            guard await perform(actions), await performCredit() else { return }
        }
    }

    /// Feeds the shaper the sender's RTT samples and performs what its credit lets go.
    private mutating func performCredit() async -> Bool {
        guard var shaping else { return true }
        defer { self.shaping = shaping }
        shaping.observe(sender)
        while case let actions = shaping.credit(&sender, now: MeshState.now()), !actions.isEmpty {
            guard await perform(actions) else { return false }
        }
        return true
    }

    /// Performs `actions`; false once the transfer is over.
    private mutating func perform(_ actions: [ChunkSender.Action]) async -> Bool {
        for action in actions {
            switch action {
            case .send(let slice), .resend(let slice):
                let frame: RelayOutbound
                do {
                    frame = try await self.frame(slice)
                } catch let refusal as PartialRefusal {
                    // The pull of a partial file ended while it was served.
                    _ = await perform(sender.cancel(reason: .notHeld, message: refusal.message))
                    return false
                } catch {
                    let message = "node cannot read \(sender.modelID) now"
                    _ = await perform(sender.cancel(reason: .protocolError, message: message))
                    return false
                }
                var resend = false
                if case .resend = action { resend = true }
                if tally.transmitted(slice, resend: resend, took: route.send(frame)) { progress?.add(slice.length) }
            case .cancel(let cancel):
                _ = route.send(RelayPayload.direct(cancel, to: peer))
                return false
            case .finished, .peerCancelled:
                return false
            }
        }
        return true
    }

    /// Reads `slice` and frames it for the negotiated mode (hashing included), on a file thread.
    private func frame(_ slice: ChunkSlice) async throws -> RelayOutbound {
        let (sender, file, peer) = (self.sender, self.file, self.peer)
        return try await fileReaders.runIfActive {
            let data = try file.read(offset: slice.offset, length: slice.length)
            if sender.mode.usesBinaryFrames {
                return try RelayPayload.binary(sender.binaryFrame(slice, data: data), to: peer)
            }
            return RelayPayload.direct(sender.textChunk(slice, data: data), to: peer)
        }
    }
}
