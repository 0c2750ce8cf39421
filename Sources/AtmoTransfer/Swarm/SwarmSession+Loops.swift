import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

extension SwarmSession {
    /// One peer's part: announces the transfer, then runs as many workers as its channel
    /// carries (the schedule decides how many of them have a piece at a time).
    func serve(_ peer: SwarmPeer) async {
        let message = ModelRequest(
            requestID: requestID, requesterNodeID: request.requesterNodeID, targetNodeID: peer.source.nodeID ?? "",
            modelID: entry.modelID, resumeFromByte: 0, transport: .http)
        do {
            if let start = try await peer.channel.requestTransfer(message), start.sha256 != entry.sha256 || start.totalBytes != entry.sizeBytes {
                logger.info("peer now offers another version; leaving it out", metadata: ["peer": "\(peer.source)"])
                coordinator.removePeer(peer.id, reason: .unusable)
                return
            }
        } catch {
            // An announcement is a courtesy: a peer that cannot take it may still serve pieces.
            logger.debug("transfer announcement failed", metadata: ["peer": "\(peer.source)", "error": "\(error)"])
        }
        let workers = max(1, min(configuration.connections, peer.channel.maxConcurrentPieces))
        // One spliced connection for the peer's workers: their runs take turns on it (the
        // schedule lets one or two out while it is the pull's only source).
        let spliced = SplicerSlot(splicedConnection(to: peer))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers { group.addTask { await self.work(for: peer, spliced: spliced) } }
        }
        spliced.close()
        // Dropped for failures (or as unusable) with another route to the same node left:
        // that route takes over, keeping every piece held.
        guard !Task.isCancelled, let next = peer.alternates.first, let reason = coordinator.dropped[peer.id],
            reason == .unusable || { if case .failures = reason { return true } else { return false } }()
        else { return }
        let channel = engine.channel(to: next)
        let replacement = peerList.withLock { list -> SwarmPeer in
            var replacement = SwarmPeer(id: list.count, source: next, channel: channel, have: peer.have)
            replacement.alternates = Array(peer.alternates.dropFirst())
            list.append(replacement)
            return replacement
        }
        logger.info("a route failed; the pull goes on over the next", metadata: ["from": "\(peer.source)", "to": "\(next)"])
        coordinator.addPeer(
            replacement.id, have: replacement.have, channelLimit: channel.maxConcurrentPieces, hasFallback: !replacement.alternates.isEmpty)
        await serve(replacement)
    }

    /// Every 200 ms: progress; every second: rates and slow peers, and whether the pull is
    /// stuck; every 2 s or `syncEveryBytes`: held pieces made durable.
    func tickLoop() async {
        var meter = ProgressMeter(totalBytes: entry.sizeBytes, startBytes: startBytes)
        let clock = ContinuousClock()
        let start = clock.now
        var lastSync = clock.now
        var lastTick = clock.now
        var stuckSince: ContinuousClock.Instant? = nil
        var syncedBytes = startBytes
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            if Task.isCancelled { return }
            let now = clock.now
            let shown = meter.update(rawBytes: coordinator.progressBytes, now: (now - start).seconds)
            report(.downloading, bytes: shown.bytes, rate: shown.rate, eta: shown.eta)
            if !coordinator.checksPieces, othersWantOrGivePieces {
                logger.debug("another node takes part: pieces are checked from now on", metadata: ["model": "\(entry.modelID)"])
                coordinator.startCheckingPieces(requestsPerPeer: configuration.connections)
            }
            if now - lastTick >= .seconds(1) {
                lastTick = now
                coordinator.tick()
                // Stuck: pieces nobody can give and nothing in flight. Partial holders may
                // still get them, so wait a while before giving up when there are any.
                if let pieces = coordinator.stuckPieces {
                    stuckSince = stuckSince ?? now
                    let waitsForHolders = request.discoverSources != nil || peers.contains { $0.have != nil }
                    let patience: Duration = waitsForHolders ? .seconds(configuration.stallTimeoutSeconds) : .zero
                    if now - stuckSince! >= patience {
                        coordinator.fail(noSourceLeft(missing: pieces))
                        return
                    }
                } else {
                    stuckSince = nil
                }
            }
            let held = coordinator.schedule
            if now - lastSync >= .seconds(2) || held.heldBytes - syncedBytes >= configuration.syncEveryBytes {
                lastSync = now
                syncedBytes = held.heldBytes
                do {
                    try await partial.syncDurable(held.heldPieces)
                } catch {
                    logger.warning("cannot sync the partial download", metadata: ["path": "\(partial.path)", "error": "\(error)"])
                }
            }
        }
    }

    /// Whether checks of pieces on arrival are worth their cost: more than one node gives
    /// pieces, or another node asked for this node's pieces of the file.
    var othersWantOrGivePieces: Bool {
        Set(peers.map { $0.source.nodeID ?? $0.source.baseURL }).count > 1 || peers.contains { $0.have != nil }
            || (engine.partialOffers?.wasAsked(sha256: entry.sha256) ?? false)
    }

    /// The pull's failure when no peer left can give the missing pieces: every peer's story.
    func noSourceLeft(missing: [Int]) -> TransferError {
        let dropped = coordinator.dropped
        let errors = coordinator.lastErrors
        var lines: [String] = []
        for peer in peers {
            if let reason = dropped[peer.id] {
                lines.append("\(peer.source): \(Self.describe(reason))\(errors[peer.id].map { " (\($0.message))" } ?? "")")
            } else {
                lines.append("\(peer.source): holds none of the missing pieces")
            }
        }
        // Sources left for bad pieces alone: verification failed (exit 5), not "not offered".
        let badPieces = errors.isEmpty && dropped.values.contains { if case .badPieces = $0 { true } else { false } }
        let code = errors.values.first?.code ?? (badPieces ? .hashMismatch : .notOffered)
        let advice =
            badPieces
            ? "the pieces held so far are kept (only verified ones); pull again from another node that has the model (--from URL)"
            : "the pieces held so far are kept; pull again when a node that has the model is back"
        return TransferError(
            code,
            "no source left for \(missing.count) pieces of \(entry.modelID) (the first is piece \(missing[0])):\n"
                + lines.joined(separator: "\n") + "\n" + advice)
    }

    static func describe(_ reason: SwarmSchedule.DropReason) -> String {
        switch reason {
        case .badPieces(let count): return "sent \(count) pieces that failed verification; no longer asked"
        case .failures(let count): return "failed \(count) times in a row"
        case .unusable: return "cannot serve this model"
        case .slow(let rate, let best): return "far slower than the others (\(Int(rate)) bytes/s against \(Int(best)))"
        }
    }
}
