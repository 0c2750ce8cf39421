extension SwarmSchedule {
    /// Whether pieces go in file order: every active peer holds the whole file.
    public var isInFileOrder: Bool { peers.values.allSatisfy { $0.dropped || $0.have == nil } }

    /// The piece after `piece`, asked of `id` in the same range request: a run of pieces in
    /// file order, so that a pull from whole-file sources sends a few large requests rather
    /// than one per piece. Nil when that piece is not missing, `id` may not be asked for it,
    /// or partial holders take part (then rarest first decides every piece).
    public mutating func extendRun(after piece: Int, for id: PeerID, now: Double) -> Int? {
        let next = piece + 1
        guard next < pieceCount, states[next] == .missing, let peer = peers[id], !peer.dropped, peer.holds(next),
            !peer.refused.contains(next), isInFileOrder
        else { return nil }
        request(next, from: id, now: now)
        peers[id]?.runFollowers.insert(next)
        return next
    }

    /// Held pieces that were written without the manifest's check (a pull from one source
    /// defers it) and fail it now: they go back to missing, blamed on `id` as bad pieces
    /// would have been on arrival (a second one drops the peer; the only holder is asked
    /// again). The caller restarts the whole-file hash (`restartHash`).
    public mutating func heldPiecesFailedCheck(_ pieces: [Int], from id: PeerID?) -> [Action] {
        var actions: [Action] = []
        for piece in Set(pieces).sorted() where piece >= 0 && piece < pieceCount {
            guard states[piece] == .held || states[piece] == .hashed else { continue }
            states[piece] = .missing
            heldCount -= 1
            unrequested += 1
            guard let id, var peer = peers[id] else { continue }
            peer.badPieces += 1
            peer.refused.insert(piece)
            peers[id] = peer
            if !peer.namesManifest { badCopies[piece, default: []].insert(id) }
            if peer.badPieces >= configuration.badPiecesToDrop {
                actions += drop(id, reason: .badPieces(peer.badPieces))
            }
        }
        return actions
    }

    /// Another node takes part in a pull that began alone with one source (which asked
    /// for two runs at a time): from now on a peer may have `requests` range requests out.
    public mutating func allowRequests(perPeer requests: Int) {
        configuration.maxRequestsPerPeer = max(1, requests)
    }

    /// The whole-file hash starts again from the first piece (pieces under it changed).
    public mutating func restartHash() {
        for index in 0..<pieceCount where states[index] == .hashed { states[index] = .held }
        hashCursor = 0
    }
}
