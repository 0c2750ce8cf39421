import AtmoStore
import NIOCore
import Synchronization

/// One run's fetch: how to cancel it (registered with the coordinator before it starts, so
/// a piece it streams never finds its own fetch unregistered), and the pieces that
/// `SwarmSession.streamPiece` wrote from the event loop.
final class StreamedRun: Sendable {
    private let state = Mutex<(pieces: Set<Int>, error: (any Error)?)>(([], nil))
    private let task = Mutex<(task: Task<[SwarmSession.PieceOutcome], any Error>?, cancelled: Bool)>((nil, false))

    /// The fetch to cancel; cancelled at once if `cancel` came first.
    func attach(_ fetch: Task<[SwarmSession.PieceOutcome], any Error>) {
        if task.withLock({ state in
            state.task = fetch
            return state.cancelled
        }) {
            fetch.cancel()
        }
    }

    func cancel() {
        task.withLock { state in
            state.cancelled = true
            return state.task
        }?.cancel()
    }

    func insert(_ piece: Int) { state.withLock { _ = $0.pieces.insert(piece) } }
    func contains(_ piece: Int) -> Bool { state.withLock { $0.pieces.contains(piece) } }
    /// A write that failed: the run fails with it.
    var writeError: (any Error)? { state.withLock { $0.error } }
    func fail(_ error: any Error) { state.withLock { $0.error = $0.error ?? error } }
}

extension SwarmSession {
    /// A write from the event loop slower than this counts against writing there (the disk is
    /// busy: the loop's other connections would wait).
    static let slowLoopWrite = Duration.milliseconds(10)
    /// Slow writes after which pieces go through the blocking pool again, for this pull.
    static let slowLoopWriteLimit = 3

    /// Fetches a run of whole pieces in one range request; while checks are deferred (one
    /// whole-file source alone) each piece is written from the event loop as soon as its last
    /// byte is in (`streamPiece`), so a run is neither held whole nor handed to a task and a
    /// thread before it reaches the disk and the hasher. Pieces it did not take (checks on,
    /// slow writes) go the usual way once the run is in.
    func fetchStreaming(
        _ run: [Int], offset: Int64, lengths: [Int64], from peer: SwarmPeer, client: PeerClient, keys: [SwarmCoordinator.FetchKey],
        streamed: StreamedRun, loop: (any EventLoop)?, connection: RangeConnection? = nil
    ) async throws -> [PieceOutcome] {
        let progress = runProgress(keys, lengths: lengths)
        let rest: [ByteBuffer]
        let taken: [Bool]
        do {
            (rest, taken) = try await client.fetchPieces(
                of: entry, offset: offset, lengths: lengths, on: loop, over: connection, received: progress
            ) { [self] index, bytes in
                streamPiece(run[index], key: keys[index], bytes: bytes, streamed: streamed, from: peer)
            }
        } catch {
            // A piece claimed and not written is this node's failure, whatever the peer did.
            throw streamed.writeError ?? error
        }
        if let error = streamed.writeError { throw error }
        try Task.checkCancellation()
        let left = run.indices.filter { $0 >= taken.count || !taken[$0] }
        let pieces = Self.split(rest, into: left.map { lengths[$0] })
        let written = try await write(zip(left, pieces).map { (run[$0], $1) }, from: peer)
        var outcomes = Array(repeating: PieceOutcome.streamed, count: run.count)
        for (index, outcome) in zip(left, written) { outcomes[index] = outcome }
        return outcomes
    }

    /// A worker's own kept-alive connection to `peer` (`RangeConnection`), for every
    /// plain-HTTP peer, whole-file or partial holder: its range requests, runs and the blocks
    /// of large pieces alike, go over it. It opens on the first request, reconnects after a
    /// failure, and closes when the worker ends (the peer dropped, the pull over). Nil for
    /// other channels and `https://` (AsyncHTTPClient then).
    func rangeConnection(to peer: SwarmPeer, on loop: (any EventLoop)?) -> RangeConnection? {
        guard let loop, let client = peer.channel as? PeerClient else { return nil }
        return RangeConnection(
            baseURL: client.baseURL, eventLoop: loop, connectTimeout: .milliseconds(Int64(configuration.connectTimeoutSeconds * 1000)),
            stallTimeout: .milliseconds(Int64(configuration.stallTimeoutSeconds * 1000)))
    }

    /// Writes one piece of a streamed run, on the event loop, unchecked: only while checks
    /// are deferred (the whole-file hash covers it; another peer joining turns checks on),
    /// and while writes there are fast. False leaves the piece
    /// to `fetchStreaming`'s usual path. The piece's buffers go to the hasher.
    func streamPiece(
        _ piece: Int, key: SwarmCoordinator.FetchKey, bytes: [ByteBuffer], streamed: StreamedRun, from peer: SwarmPeer
    ) -> Bool {
        guard slowLoopWrites.load(ordering: .relaxed) < Self.slowLoopWriteLimit,
            case .claimed = coordinator.claimUnchecked(piece, from: key.peer)
        else { return false }
        let started = ContinuousClock.now
        do {
            try PartialDownload.write(bytes, fd: partial.fd, at: manifest.range(of: piece).offset, path: partial.path)
        } catch {
            streamed.fail(error)
            return true
        }
        if ContinuousClock.now - started > Self.slowLoopWrite { slowLoopWrites.add(1, ordering: .relaxed) }
        streamed.insert(piece)
        // Counted as it is written: the whole file may be in and installed before the run's
        // task resumes (then cancelled, it counts nothing).
        engine.counters.received(bytes: manifest.range(of: piece).length, route: peer.source.route, peer: peer.source.nodeID)
        coordinator.arrived(key, valid: true, buffer: bytes)
        return true
    }
}

extension SwarmCoordinator {
    /// Waits while more than `limit` pieces past the hash cursor are held or in flight, when
    /// checks are deferred (one whole-file source alone, fetching in file order) and pieces
    /// wait in memory for the hasher (`keepAhead`): a run asked for then arrives within
    /// `keepAhead` and is hashed from memory. Without it, a hasher that fell behind (its
    /// thread busy elsewhere) left every later piece to be read back from the disk.
    func waitForHasher(aheadAtMost limit: Int) async throws {
        guard keepAhead > 0 else { return }
        while true {
            let (ahead, version) = try state.observe { state throws -> Int in
                if let failure = state.failure { throw failure }
                guard !state.checksPieces else { return 0 }
                let schedule = state.schedule
                var index = schedule.hashCursor
                while index < schedule.pieceCount, schedule.states[index] != .missing {
                    // A held piece past the cursor that is not in memory (kept by an earlier
                    // run, being resumed) is read back anyway: holding the transfer back for
                    // the hasher would only leave the network idle meanwhile.
                    if index > schedule.hashCursor, schedule.states[index] == .held, state.buffers[index] == nil { return 0 }
                    index += 1
                }
                return index - schedule.hashCursor
            }
            if ahead <= limit { return }
            try await waitForChange(after: version, until: nil)
        }
    }
}
