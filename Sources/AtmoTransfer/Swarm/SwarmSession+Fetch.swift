import AtmoProtocol
import AtmoStore
import Crypto
import Foundation
import NIOCore

extension SwarmSession {
    /// Bytes per range request: a piece larger than this (8 and 16 MiB pieces of big files)
    /// is fetched in several ranges, all held until the piece is verified; smaller pieces in
    /// file order go several to a request (`SwarmSchedule.extendRun`).
    static let blockSize: Int64 = 4 * 1024 * 1024
    /// Bytes per range request of a spliced run (`fetchSpliced`): its pieces go to the file,
    /// not to memory, so a run may be long; each request costs both sides about a
    /// millisecond of CPU (256 requests per GiB at `blockSize`).
    static let splicedRunBytes: Int64 = 32 * 1024 * 1024

    /// How one piece of a fetch ended.
    enum PieceOutcome {
        /// Written; `checked`: against the manifest (false: deferred, see `claimUnchecked`).
        case written([ByteBuffer], checked: Bool)
        /// Written unchecked from the event loop as it arrived, and told to the coordinator
        /// then (`streamPiece`).
        case streamed
        /// Another copy was first, or the piece is no longer wanted.
        case lost
        /// Never received: its spliced run ended before it (`fetchSpliced`).
        case unfetched
        /// Its bytes fail the manifest.
        case bad(digest: String)
    }

    /// Hears a run's body bytes so far (after `before` bytes of it came in earlier requests)
    /// and tells each piece its share, for smooth progress and the peer's rate.
    func runProgress(_ keys: [SwarmCoordinator.FetchKey], lengths: [Int64], before: Int64 = 0) -> @Sendable (Int64) -> Void {
        { [coordinator] bytes in
            var left = before + bytes
            for (key, pieceLength) in zip(keys, lengths) where left > 0 {
                coordinator.received(key, bytesSoFar: min(left, pieceLength))
                left -= pieceLength
            }
        }
    }

    /// A piece that did not match the manifest.
    struct BadPiece: Error {
        let digest: String
    }

    /// A worker: takes pieces (a run of them while the order is the file's and checks are
    /// deferred) for `peer` until it has no more work.
    /// `spliced`: the peer's spliced connection, shared by its workers (`serve`).
    func work(for peer: SwarmPeer, spliced: SplicerSlot) async {
        // Two runs may be asked for while the hasher is behind, and both stay in `keepAhead`.
        let runPieces = Int(max(1, Self.blockSize / manifest.pieceSize))
        // This worker's answers are read on one loop, its own (`fetchStreaming`).
        let loop = (peer.channel as? PeerClient)?.http.eventLoopGroup.next()
        let connection = rangeConnection(to: peer, on: loop)
        defer { connection?.close() }
        while !Task.isCancelled {
            // A spliced run's pieces go to the file, none waits in memory for the hasher: its
            // runs are longer (fewer requests for both sides) and do not wait for it.
            let splicing = spliced.connection != nil && splicesNow(peer)
            if !splicing {
                guard (try? await coordinator.waitForHasher(aheadAtMost: coordinator.keepAhead - 2 * runPieces)) != nil else { return }
            }
            guard case .fetch(let run) = try? await coordinator.nextWork(for: peer.id, runBytes: splicing ? Self.splicedRunBytes : Self.blockSize)
            else { return }
            let offset = manifest.range(of: run[0]).offset
            let runBytes = run.reduce(Int64(0)) { $0 + manifest.range(of: $1).length }
            let keys = run.map { SwarmCoordinator.FetchKey(peer: peer.id, piece: $0) }
            let streamed = StreamedRun()
            for key in keys { coordinator.started(key) { streamed.cancel() } }
            let fetch = Task {
                try await self.fetch(
                    run, offset: offset, length: runBytes, from: peer, keys: keys, streamed: streamed, loop: loop, connection: connection,
                    spliced: spliced)
            }
            streamed.attach(fetch)
            let outcome = await withTaskCancellationHandler {
                await fetch.result
            } onCancel: {
                fetch.cancel()
            }
            switch outcome {
            case .success(let pieces):
                // Streamed pieces were counted as they were written (`streamPiece`); unfetched
                // ones never came.
                let uncountedBytes = zip(run, pieces).reduce(Int64(0)) { sum, pair in
                    switch pair.1 {
                    case .streamed, .unfetched: return sum + manifest.range(of: pair.0).length
                    default: return sum
                    }
                }
                count(pieces, bytes: runBytes - uncountedBytes, from: peer)
                var wrote = false
                for (key, piece) in zip(keys, pieces) {
                    switch piece {
                    case .written(let chunks, let checked):
                        wrote = true
                        coordinator.arrived(key, valid: true, buffer: chunks.isEmpty ? nil : chunks)
                        if checked { engine.partialOffers?.pieceVerified(sha256: entry.sha256, index: key.piece) }
                    case .streamed:
                        wrote = true
                    case .lost, .unfetched:
                        coordinator.failed(key, .cancelled)
                    case .bad(let digest):
                        handle(BadPiece(digest: digest), of: key, from: peer)
                    }
                }
                guard wrote else { continue }
                // The pieces' bits in `written_pieces` (no fsync): a killed process loses
                // only the pieces in flight, as long as the machine did not reboot.
                do {
                    try await partial.recordWritten(coordinator.heldPieces)
                } catch {
                    coordinator.fail(PullSession.transferError(error))
                    return
                }
            case .failure(let error):
                // One request failed, however many pieces it carried: the peer is blamed
                // once, and the other pieces of the run go back to missing in the same
                // step (released one by one, another worker could take part of the run).
                // Pieces streamed before the failure are kept.
                let pending = keys.filter { !streamed.contains($0.piece) }
                if pending.count < keys.count { try? await partial.recordWritten(coordinator.heldPieces) }
                guard let first = pending.first else { continue }
                handle(error, of: first, from: peer, followers: Array(pending.dropFirst()))
            }
        }
    }

    /// What a fetch's failure means for the schedule, or for the whole pull.
    func handle(_ error: any Error, of key: SwarmCoordinator.FetchKey, from peer: SwarmPeer, followers: [SwarmCoordinator.FetchKey] = []) {
        if let bad = error as? BadPiece {
            logger.warning(
                "piece failed verification; fetching it elsewhere",
                metadata: ["piece": "\(key.piece)", "peer": "\(peer.source)", "sha256": "\(bad.digest)"])
            coordinator.arrived(key, valid: false, buffer: nil)
            return
        }
        if error is CancellationError || Task.isCancelled {
            coordinator.failed(key, .cancelled, followers: followers)
            return
        }
        let failure = PullSession.transferError(error)
        switch failure.code {
        case .cancelled:
            coordinator.failed(key, .cancelled, followers: followers)
        case .notHeld:
            coordinator.failed(key, .notHeld, followers: followers)
        case .notOffered where peer.have != nil:
            // A partial holder whose pull just ended, from before `not_held` was answered
            // then: it lacks the piece for now, it did not fail.
            coordinator.failed(key, .notHeld, followers: followers)
        case .peerUnreachable where failure.isLinkLost:
            // The link went (a relay killed mid-piece), not the peer: the pieces go to the
            // other sources now, and the peer is asked again once a route is back.
            logger.info(
                "the link to the peer was lost; its pieces go to the other sources",
                metadata: ["piece": "\(key.piece)", "peer": "\(peer.source)", "reason": "\(failure)"])
            coordinator.failed(key, .linkLost, error: failure, followers: followers)
        case .timeout, .peerUnreachable, .peerError:
            logger.info(
                "piece failed; the schedule retries it",
                metadata: ["piece": "\(key.piece)", "peer": "\(peer.source)", "error": "\(failure)"])
            coordinator.failed(key, .retriable, error: failure, followers: followers)
        case _ where SourceSelection.isSourceFailure(failure):
            coordinator.failed(key, .unusable, error: failure, followers: followers)
        default:
            // This node's problem (a full disk, a local error): the pull stops.
            coordinator.fail(failure)
        }
    }

    /// Fetches pieces `run` (consecutive; bytes `[offset, offset + length)`) from `peer` in
    /// ranges of at most `blockSize`, then checks each against the manifest (unless checks
    /// are deferred) and writes the copies that are first. The bytes stay in the buffers they
    /// arrived in: nothing is copied on the way to the disk and the hasher.
    private func fetch(
        _ run: [Int], offset: Int64, length: Int64, from peer: SwarmPeer, keys: [SwarmCoordinator.FetchKey], streamed: StreamedRun,
        loop: (any EventLoop)?, connection: RangeConnection?, spliced: SplicerSlot
    ) async throws -> [PieceOutcome] {
        var chunks: [ByteBuffer] = []
        var done: Int64 = 0
        let lengths = run.map { self.manifest.range(of: $0).length }
        if let client = peer.channel as? PeerClient, length <= Self.splicedRunBytes, splicesNow(peer), let splicer = spliced.connection {
            do {
                return try await fetchSpliced(
                    run, offset: offset, lengths: lengths, from: peer, client: client, keys: keys, streamed: streamed, over: splicer)
            } catch is SplicedRangeConnection.Unspliceable {
                // An answer the splice path does not take: this peer's ranges go through NIO.
                spliced.disable()
            }
        }
        if let client = peer.channel as? PeerClient, length <= Self.blockSize {
            return try await fetchStreaming(
                run, offset: offset, lengths: lengths, from: peer, client: client, keys: keys, streamed: streamed, loop: loop,
                connection: connection)
        }
        while done < length {
            let count = min(Self.blockSize, length - done)
            let progress = runProgress(keys, lengths: lengths, before: done)
            if let client = peer.channel as? PeerClient {
                chunks += try await client.fetchChunks(
                    of: entry, offset: offset + done, length: count, on: loop, over: connection, received: progress)
            } else {
                chunks.append(try await peer.channel.fetchPiece(of: entry, offset: offset + done, length: count, received: progress))
            }
            done += count
        }
        try Task.checkCancellation()
        return try await write(Array(zip(run, Self.split(chunks, into: lengths))), from: peer)
    }

    /// Checks (unless checks are deferred) and writes fetched pieces, on the blocking pool.
    func write(_ fetched: [(piece: Int, bytes: [ByteBuffer])], from peer: SwarmPeer) async throws -> [PieceOutcome] {
        guard !fetched.isEmpty else { return [] }
        let (pieceManifest, coordinator, partial, peerID) = (self.manifest, self.coordinator, self.partial, peer.id)
        return try await engine.blockingIO.run { () throws -> [PieceOutcome] in
            var outcomes: [PieceOutcome] = []
            for (piece, bytes) in fetched {
                var checked = false
                switch coordinator.claimUnchecked(piece, from: peerID) {
                case .claimed:
                    break
                case .lost:
                    outcomes.append(.lost)
                    continue
                case .mustCheck:
                    var hasher = SHA256()
                    for chunk in bytes { chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
                    let digest = Array(hasher.finalize())
                    guard digest == Array(pieceManifest.digest(of: piece)) else {
                        outcomes.append(.bad(digest: digest.hexString))
                        continue
                    }
                    guard coordinator.claim(piece) else {
                        outcomes.append(.lost)
                        continue
                    }
                    checked = true
                }
                try PartialDownload.write(bytes, fd: partial.fd, at: pieceManifest.range(of: piece).offset, path: partial.path)
                outcomes.append(.written(bytes, checked: checked))
            }
            return outcomes
        }
    }

    /// `chunks` cut at the boundaries of pieces of `lengths` (slices: no byte is copied).
    static func split(_ chunks: [ByteBuffer], into lengths: [Int64]) -> [[ByteBuffer]] {
        var pieces: [[ByteBuffer]] = []
        var queue = chunks[...]
        for length in lengths {
            var piece: [ByteBuffer] = []
            var needed = Int(length)
            while needed > 0, var chunk = queue.first {
                if chunk.readableBytes <= needed {
                    needed -= chunk.readableBytes
                    piece.append(chunk)
                    queue.removeFirst()
                } else {
                    piece.append(chunk.readSlice(length: needed)!)
                    queue[queue.startIndex] = chunk
                    needed = 0
                }
            }
            pieces.append(piece)
        }
        return pieces
    }
}
