import AtmoProtocol
import NIOCore

/// Shares one `SwarmSchedule` between the fetch workers of every peer, the in-order hasher
/// and the ticker of a swarm pull, and performs the schedule's cancellations. `ObservedState`
/// guards the schedule; a task that must wait does so until it changes (or it is
/// cancelled). Every time passed to the schedule is seconds since `origin`.
final class SwarmCoordinator: Sendable {
    struct State {
        var schedule: SwarmSchedule
        /// Whole pieces kept for the hasher, by index (only near the hash cursor).
        var buffers: [Int: [ByteBuffer]] = [:]
        /// Whether arriving pieces are checked against the manifest before they are written.
        /// A pull from one whole-file source defers the check (the whole-file hash covers
        /// every byte) until another peer joins or asks for its pieces.
        var checksPieces: Bool
        /// Pieces held without that check, and who sent each: not offered to other nodes
        /// until checked on disk (`SwarmSession.checkLoop`).
        var unchecked: [Int: SwarmSchedule.PeerID] = [:]
        /// Whether any piece of this run was written unchecked.
        var deferredAny = false
        /// Bumped when the whole-file hash must start over (`repair`).
        var hashEpoch = 0
        /// Bytes received so far of fetches in flight, for smooth progress.
        var inFlightBytes: [FetchKey: Int64] = [:]
        /// How to cancel each running fetch (a lost endgame copy, a dropped peer's work).
        var fetches: [FetchKey: @Sendable () -> Void] = [:]
        /// Pieces whose verified copy is being written: only the first valid copy writes.
        var claimed: Set<Int> = []
        /// Drops and their reasons, for the caller's peer records and the final error.
        var dropped: [SwarmSchedule.PeerID: SwarmSchedule.DropReason] = [:]
        /// The last error of each peer, for the final error.
        var lastErrors: [SwarmSchedule.PeerID: TransferError] = [:]
        /// Bytes each peer delivered in pieces that were kept.
        var delivered: [SwarmSchedule.PeerID: Int64] = [:]
        var failure: TransferError?
        /// Set when two peers' copies of one piece failed the manifest (`doubtManifest`).
        var manifestDoubted = false
    }

    struct FetchKey: Hashable, Sendable {
        var peer: SwarmSchedule.PeerID
        var piece: Int
    }

    enum Work {
        /// Consecutive pieces for one range request (one piece unless a run was allowed).
        case fetch(pieces: [Int])
        case done
    }

    let state: ObservedState<State>
    let origin = ContinuousClock.now
    /// How many pieces past the hash cursor may wait in memory for the hasher.
    let keepAhead: Int

    init(schedule: SwarmSchedule, keepAhead: Int, checksPieces: Bool = true) {
        state = ObservedState(State(schedule: schedule, checksPieces: checksPieces))
        self.keepAhead = keepAhead
    }

    var now: Double { (ContinuousClock.now - origin).seconds }

    /// Wakes every waiter (a back-off ended).
    private func wakeAll() { state.change { _ in } }

    var schedule: SwarmSchedule { state.withLock { $0.schedule } }

    /// The next work for one of `peer`'s workers; waits while there is none for it now.
    /// While piece checks are deferred, the piece's run follows it in the same step, up to
    /// `runBytes` (`SwarmSchedule.extendRun`): taken one by one, another worker of the same
    /// peer could take the rest of the run first and leave this one with a single piece.
    func nextWork(for peer: SwarmSchedule.PeerID, runBytes: Int64) async throws -> Work {
        while true {
            let now = self.now
            let (work, version) = try state.observe { state throws -> (Work?, SwarmSchedule.Request) in
                if let failure = state.failure { throw failure }
                let request = state.schedule.nextRequest(for: peer, now: now)
                guard case .fetch(let first) = request else { return (nil, request) }
                var run = [first]
                var bytes = state.schedule.range(of: first).length
                while !state.checksPieces, bytes < runBytes,
                    let next = state.schedule.extendRun(after: run[run.count - 1], for: peer, now: now)
                {
                    run.append(next)
                    bytes += state.schedule.range(of: next).length
                }
                return (.fetch(pieces: run), request)
            }
            if let work = work.0 { return work }
            switch work.1 {
            case .fetch: continue
            case .done: return .done
            case .wait(let until): try await waitForChange(after: version, until: until.map { max(0, $0 - now) })
            }
        }
    }

    /// Registers how to cancel the fetch of `key`, so a cancel action can reach it.
    func started(_ key: FetchKey, cancel: @escaping @Sendable () -> Void) {
        let cancelNow = state.withLock { state -> Bool in
            guard state.failure == nil, state.schedule.requesters[key.piece]?[key.peer] != nil else { return true }
            state.fetches[key] = cancel
            state.inFlightBytes[key] = 0
            return false
        }
        if cancelNow { cancel() }
    }

    /// Whether the caller may write its verified copy of `piece`: true for the first copy
    /// only, while the piece is still wanted. Two copies never write the same bytes at once.
    func claim(_ piece: Int) -> Bool {
        state.withLock { state in
            guard state.failure == nil, state.schedule.states[piece] == .inFlight, !state.claimed.contains(piece) else { return false }
            state.claimed.insert(piece)
            return true
        }
    }

    func received(_ key: FetchKey, bytesSoFar: Int64) {
        state.withLock { state in
            // A piece that arrived (streamed, `SwarmSession.fetch`) while its run goes on is no
            // longer counted.
            guard let before = state.inFlightBytes[key], bytesSoFar > before else { return }
            state.inFlightBytes[key] = bytesSoFar
            state.schedule.received(key.peer, bytes: bytesSoFar - before)
        }
    }

    /// The piece arrived whole; `valid` is the manifest's verdict (true for a piece written
    /// unchecked, see `claimUnchecked`). `buffer` (its bytes) may be kept for the hasher.
    func arrived(_ key: FetchKey, valid: Bool, buffer: [ByteBuffer]?) {
        state.change { state in
            state.fetches[key] = nil
            state.inFlightBytes[key] = nil
            state.claimed.remove(key.piece)
            let wasNeeded = state.schedule.states[key.piece] == .inFlight
            let actions = state.schedule.pieceArrived(key.piece, from: key.peer, valid: valid, now: now)
            if valid && wasNeeded {
                state.delivered[key.peer, default: 0] += state.schedule.range(of: key.piece).length
                if let buffer, key.piece < state.schedule.hashCursor + keepAhead { state.buffers[key.piece] = buffer }
            }
            perform(actions, in: &state)
        }
    }

    /// The fetch failed (or was cancelled); `error` is kept as the peer's last. `followers`,
    /// the other pieces of the same request, go back to missing in the same step, unblamed.
    func failed(_ key: FetchKey, _ failure: SwarmSchedule.Failure, error: TransferError? = nil, followers: [FetchKey] = []) {
        state.change { state in
            if let error { state.lastErrors[key.peer] = error }
            for fetch in [key] + followers {
                state.fetches[fetch] = nil
                state.inFlightBytes[fetch] = nil
            }
            for follower in followers {
                perform(state.schedule.pieceFailed(follower.piece, from: follower.peer, .cancelled, now: now), in: &state)
            }
            perform(state.schedule.pieceFailed(key.piece, from: key.peer, failure, now: now), in: &state)
        }
    }

    /// A peer joins the pull while it runs.
    func addPeer(_ peer: SwarmSchedule.PeerID, have: Bitfield?, channelLimit: Int, hasFallback: Bool = false) {
        state.change { $0.schedule.addPeer(peer, have: have, channelLimit: channelLimit, hasFallback: hasFallback, now: now) }
    }

    /// These peers' own entries name the manifest of this pull (`SwarmSchedule.vouchForManifest`).
    func vouchForManifest(_ peers: [SwarmSchedule.PeerID]) {
        state.change { state in
            for peer in peers { state.schedule.vouchForManifest(peer) }
        }
    }

    func updateHave(_ peer: SwarmSchedule.PeerID, _ have: Bitfield) {
        state.change { $0.schedule.updateHave(peer, have: have) }
    }

    /// Rates and slow peers, about once a second.
    func tick() {
        state.change { state in perform(state.schedule.tick(now: now), in: &state) }
    }

    /// A peer that is out of this pull (`reason` nil: gone without blame).
    func removePeer(_ peer: SwarmSchedule.PeerID, reason: SwarmSchedule.DropReason?) {
        state.change { state in perform(state.schedule.removePeer(peer, reason: reason), in: &state) }
    }

    /// Pieces found good on disk (an earlier run's, verified again).
    func markHeld(_ pieces: [Int]) {
        state.change { state in
            for piece in pieces { state.schedule.markHeld(piece) }
        }
    }

    var lastErrors: [SwarmSchedule.PeerID: TransferError] { state.withLock { $0.lastErrors } }

    /// The pieces held now (written and verified).
    var heldPieces: Bitfield { state.withLock { $0.schedule.heldPieces } }

    /// Fails the pull at once (a full disk, a local error, no peer left).
    func fail(_ error: TransferError) {
        state.change { state in
            if state.failure == nil { state.failure = error }
            for cancel in state.fetches.values { cancel() }
        }
    }

    var failure: TransferError? { state.withLock { $0.failure } }

    /// Whether the manifest was doubted (see `SwarmSchedule.Action.doubtManifest`).
    var manifestDoubted: Bool { state.withLock { $0.manifestDoubted } }

    var dropped: [SwarmSchedule.PeerID: SwarmSchedule.DropReason] { state.withLock { $0.dropped } }

    /// Whether the peer is out of the pull (dropped with a reason, or removed without one).
    func isRemoved(_ peer: SwarmSchedule.PeerID) -> Bool { state.withLock { $0.schedule.isDropped(peer) } }

    var delivered: [SwarmSchedule.PeerID: Int64] { state.withLock { $0.delivered } }

    /// Why the pull is stuck, if it is: pieces no active peer can give while nothing is in
    /// flight and no other piece is left to fetch (a peer between two requests, or backing
    /// off, still has pieces to give: they are fetched first, so a resume needs only the
    /// ones nobody had). Nil while it can go on.
    var stuckPieces: [Int]? {
        state.withLock { state in
            guard !state.schedule.isComplete, !state.schedule.hasFetchesInFlight else { return nil }
            let missing = state.schedule.unavailablePieces
            guard !missing.isEmpty, missing.count == state.schedule.states.lazy.filter({ $0 == .missing }).count else { return nil }
            return missing
        }
    }

    /// Work of the whole-file hasher.
    struct HashWork {
        var piece: Int
        /// Its bytes, when kept in memory.
        var buffer: [ByteBuffer]?
        /// When this differs from the last one, the hash starts over (this is piece 0).
        var epoch: Int
    }

    /// The next piece in file order for the whole-file hash, waiting until it is held.
    func nextHashWork() async throws -> HashWork? {
        while true {
            let ((step, work), version) = try state.observe { state throws -> (SwarmSchedule.HashStep, HashWork?) in
                if let failure = state.failure { throw failure }
                let step = state.schedule.nextHashStep()
                guard case .hash(let piece) = step else { return (step, nil) }
                return (step, HashWork(piece: piece, buffer: state.buffers.removeValue(forKey: piece), epoch: state.hashEpoch))
            }
            switch step {
            case .hash: return work
            case .complete: return nil
            case .wait: try await waitForChange(after: version, until: nil)
            }
        }
    }

    /// The hasher took `piece` in `epoch` (ignored when the hash started over since).
    func hashed(_ piece: Int, epoch: Int) {
        state.change { state in
            guard state.hashEpoch == epoch else { return }
            state.schedule.pieceHashed(piece)
        }
    }

    /// Bytes held plus bytes arriving, for progress.
    var progressBytes: Int64 {
        state.withLock { state in state.schedule.heldBytes + state.inFlightBytes.values.reduce(0, +) }
    }

    func perform(_ actions: [SwarmSchedule.Action], in state: inout State) {
        for action in actions {
            switch action {
            case .cancel(let piece, let peer):
                let key = FetchKey(peer: peer, piece: piece)
                state.fetches.removeValue(forKey: key)?()
                state.inFlightBytes[key] = nil
            case .doubtManifest(let piece):
                state.manifestDoubted = true
                if state.failure == nil {
                    state.failure = TransferError(
                        .protocolViolation,
                        "two peers sent copies of piece \(piece) that fail the piece manifest: the manifest is doubted; the pull goes on without it")
                }
                for cancel in state.fetches.values { cancel() }
                state.fetches.removeAll()
            case .drop(let peer, let reason):
                state.dropped[peer] = reason
                for key in state.fetches.keys where key.peer == peer {
                    state.fetches.removeValue(forKey: key)?()
                    state.inFlightBytes[key] = nil
                }
            }
        }
    }

    /// Waits for any change after `version`, or `until` seconds at most.
    func waitForChange(after version: UInt64, until seconds: Double?) async throws {
        // A back-off ends on its own: a timer counts as a change (waking every waiter is
        // cheap, and a waiter that parks after it fired sees the new version).
        let timer = seconds.map { delay in
            Task { [weak self] in
                try await Task.sleep(for: .seconds(delay))
                self?.wakeAll()
            }
        }
        defer { timer?.cancel() }
        try await state.waitForChange(after: version)
    }
}
