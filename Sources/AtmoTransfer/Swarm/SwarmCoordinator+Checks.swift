/// Deferred piece checks: a pull from one whole-file source writes pieces unchecked until
/// another node gives or asks for pieces (`SwarmSession.checkLoop`, `repairAfterMismatch`).
extension SwarmCoordinator {
    enum UncheckedClaim {
        /// The caller writes `piece` without checking it; it is held unchecked.
        case claimed
        /// Another copy won, or the piece is no longer wanted.
        case lost
        /// Pieces are checked now: check it, then `claim` it.
        case mustCheck
    }

    /// Claims `piece` for writing without the manifest's check while the pull defers checks
    /// (`checksPieces` false); the piece counts as unchecked from here on, so the decision
    /// and the record of it are one step.
    func claimUnchecked(_ piece: Int, from peer: SwarmSchedule.PeerID) -> UncheckedClaim {
        state.withLock { state in
            guard !state.checksPieces else { return .mustCheck }
            guard state.failure == nil, state.schedule.states[piece] == .inFlight, !state.claimed.contains(piece) else { return .lost }
            state.claimed.insert(piece)
            state.unchecked[piece] = peer
            state.deferredAny = true
            return .claimed
        }
    }

    var checksPieces: Bool { state.withLock { $0.checksPieces } }

    /// Gives back the claim of `piece`, claimed unchecked and cut short before all of it was
    /// written (a spliced run that failed): it is no longer unchecked, and whoever fetches it
    /// next may claim it. The caller then fails the piece, which goes back to missing.
    func releaseUnchecked(_ piece: Int) {
        state.change { state in
            guard state.claimed.remove(piece) != nil else { return }
            state.unchecked[piece] = nil
        }
    }

    /// From now on pieces are checked on arrival, and those held unchecked get checked on
    /// disk: another peer joined, or another node asked for this node's pieces. Each peer may
    /// then have `requestsPerPeer` requests out (the pull alone had fewer).
    func startCheckingPieces(requestsPerPeer: Int) {
        state.change { state in
            state.checksPieces = true
            state.schedule.allowRequests(perPeer: requestsPerPeer)
        }
    }

    /// Pieces held unchecked once checking has started; waits until there are some.
    func nextUncheckedPieces() async throws -> [Int] {
        while true {
            let (pieces, version) = try state.observe { state throws -> [Int] in
                if let failure = state.failure { throw failure }
                // Only pieces written and held: one claimed but still being written is not read.
                guard state.checksPieces else { return [] }
                return state.unchecked.keys.filter { state.schedule.states[$0] == .held || state.schedule.states[$0] == .hashed }.sorted()
            }
            if !pieces.isEmpty { return pieces }
            try await waitForChange(after: version, until: nil)
        }
    }

    /// Pieces held unchecked now, and who sent them.
    var uncheckedPieces: [Int: SwarmSchedule.PeerID] { state.withLock { $0.unchecked } }

    /// Whether every held piece was checked against the manifest.
    var allHeldChecked: Bool { state.withLock { $0.unchecked.isEmpty } }

    /// Whether this run wrote any piece unchecked.
    var deferredAny: Bool { state.withLock { $0.deferredAny } }

    /// Pieces checked on disk: `good` ones are verified now; `bad` ones go back to missing,
    /// blamed on their sender, and the whole-file hash starts over. Returns the good pieces
    /// still held (not replaced meanwhile).
    @discardableResult
    func checkedOnDisk(good: [Int], bad: [Int]) -> [Int] {
        state.change { state in
            let kept = good.filter { state.unchecked.removeValue(forKey: $0) != nil }
            var actions: [SwarmSchedule.Action] = []
            let states = state.schedule.states
            let unchecked = state.unchecked
            let senders = Dictionary(grouping: bad.filter { unchecked[$0] != nil && (states[$0] == .held || states[$0] == .hashed) }) {
                unchecked[$0]!
            }
            for (sender, pieces) in senders.sorted(by: { $0.key < $1.key }) {
                for piece in pieces { state.unchecked[piece] = nil }
                actions += state.schedule.heldPiecesFailedCheck(pieces, from: sender)
            }
            if !senders.isEmpty {
                state.schedule.restartHash()
                state.hashEpoch += 1
                state.buffers.removeAll()
            }
            perform(actions, in: &state)
            return kept
        }
    }
}
