import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

extension SwarmSession {
    /// Bytes per request within a piece: a piece larger than this (8 and 16 MiB pieces of
    /// big files) is fetched in several ranges, all held until the piece is verified.
    static let blockSize: Int64 = 4 * 1024 * 1024

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
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers { group.addTask { await self.work(for: peer) } }
        }
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

    /// A worker: takes pieces for `peer` until it has no more work.
    private func work(for peer: SwarmPeer) async {
        while !Task.isCancelled {
            guard case .fetch(let piece) = try? await coordinator.nextWork(for: peer.id) else { return }
            let key = SwarmCoordinator.FetchKey(peer: peer.id, piece: piece)
            let fetch = Task { try await self.fetch(piece, from: peer, key: key) }
            coordinator.started(key) { fetch.cancel() }
            let outcome = await withTaskCancellationHandler {
                await fetch.result
            } onCancel: {
                fetch.cancel()
            }
            switch outcome {
            case .success(let buffer):
                // Verified and written (`buffer` for the hasher when it is one block), or
                // another copy was first.
                guard let buffer else { continue }
                coordinator.arrived(key, valid: true, buffer: buffer.readableBytes == 0 ? nil : buffer)
                // The piece's bit in `written_pieces` (no fsync): a killed process loses
                // only the pieces in flight, as long as the machine did not reboot.
                do {
                    try await partial.recordWritten(coordinator.heldPieces)
                } catch {
                    coordinator.fail(PullSession.transferError(error))
                    return
                }
            case .failure(let error):
                handle(error, of: key, from: peer)
            }
        }
    }

    /// What a fetch's failure means for the schedule, or for the whole pull.
    private func handle(_ error: any Error, of key: SwarmCoordinator.FetchKey, from peer: SwarmPeer) {
        if let bad = error as? BadPiece {
            logger.warning(
                "piece failed verification; fetching it elsewhere",
                metadata: ["piece": "\(key.piece)", "peer": "\(peer.source)", "sha256": "\(bad.digest)"])
            coordinator.arrived(key, valid: false, buffer: nil)
            return
        }
        if error is CancellationError || Task.isCancelled {
            coordinator.failed(key, .cancelled)
            return
        }
        let failure = PullSession.transferError(error)
        switch failure.code {
        case .cancelled:
            coordinator.failed(key, .cancelled)
        case .notHeld:
            coordinator.failed(key, .notHeld)
        case .timeout, .peerUnreachable, .peerError:
            logger.info("piece failed; the schedule retries it", metadata: ["piece": "\(key.piece)", "peer": "\(peer.source)", "error": "\(failure)"])
            coordinator.failed(key, .retriable, error: failure)
        case _ where SourceSelection.isSourceFailure(failure):
            coordinator.failed(key, .unusable, error: failure)
        default:
            // This node's problem (a full disk, a local error): the pull stops.
            coordinator.fail(failure)
        }
    }

    /// A piece that did not match the manifest.
    struct BadPiece: Error {
        let digest: String
    }

    /// Fetches piece `piece` from `peer` (in blocks), checks it against the manifest and,
    /// if no other copy was first, writes it. Returns its bytes when they are one buffer
    /// (empty otherwise), or nil when another copy won.
    private func fetch(_ piece: Int, from peer: SwarmPeer, key: SwarmCoordinator.FetchKey) async throws -> ByteBuffer? {
        let (offset, length) = manifest.range(of: piece)
        var blocks: [ByteBuffer] = []
        var done: Int64 = 0
        while done < length {
            let count = min(Self.blockSize, length - done)
            let before = done
            let block = try await peer.channel.fetchPiece(of: entry, offset: offset + done, length: count) { [coordinator] bytes in
                coordinator.received(key, bytesSoFar: before + bytes)
            }
            blocks.append(block)
            done += count
        }
        try Task.checkCancellation()
        let (expected, coordinator, partial, received) = (Array(manifest.digest(of: piece)), self.coordinator, self.partial, blocks)
        let written = try await engine.blockingIO.run { () throws -> Bool in
            var hasher = SHA256()
            for block in received { block.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
            let digest = Array(hasher.finalize())
            guard digest == expected else { throw BadPiece(digest: digest.hexString) }
            guard coordinator.claim(piece) else { return false }
            var position = offset
            for block in received {
                try block.withUnsafeReadableBytes { bytes throws(StoreError) in
                    try FileIO.pwrite(partial.fd, bytes, offset: position, path: partial.path)
                }
                position += Int64(block.readableBytes)
            }
            return true
        }
        guard written else {
            coordinator.failed(key, .cancelled)
            return nil
        }
        engine.partialOffers?.pieceVerified(sha256: entry.sha256, index: piece)
        return blocks.count == 1 ? blocks[0] : ByteBuffer()
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
        let code = errors.values.first?.code ?? .notOffered
        return TransferError(
            code,
            "no source left for \(missing.count) pieces of \(entry.modelID) (the first is piece \(missing[0])):\n"
                + lines.joined(separator: "\n") + "\nthe pieces held so far are kept; pull again when a node that has the model is back")
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
