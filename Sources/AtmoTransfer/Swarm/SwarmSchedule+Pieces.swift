extension SwarmSchedule {
    /// The next piece to ask of `id`, if any (see the type's doc for the order).
    public mutating func nextRequest(for id: PeerID, now: Double) -> Request {
        guard let peer = peers[id], !peer.dropped, !isComplete else { return .done }
        guard peer.requests < depth(of: peer) else { return .wait(until: nil) }
        if now < peer.backOffUntil { return .wait(until: peer.backOffUntil) }
        if let piece = rarestUnrequested(for: id) {
            request(piece, from: id, now: now)
            return .fetch(piece: piece)
        }
        let endgame = endgamePiece(for: id, now: now)
        if let piece = endgame.piece {
            request(piece, from: id, now: now)
            return .fetch(piece: piece)
        }
        // Nothing this peer holds is needed now (until a piece in flight is late). A partial
        // holder may get more; a complete one may be needed again if a fetch elsewhere fails.
        return .wait(until: endgame.lateAt)
    }

    /// Piece `piece` arrived whole from `id`; `valid` is the manifest's verdict (always
    /// true for a pull without one). A valid piece is held and its other fetches are
    /// cancelled; an invalid one is blamed on the peer and fetched again elsewhere.
    public mutating func pieceArrived(_ piece: Int, from id: PeerID, valid: Bool, now: Double) -> [Action] {
        guard var peer = peers[id] else { return [] }
        peer.inFlight.remove(piece)
        requesters[piece]?[id] = nil
        var actions: [Action] = []
        guard valid else {
            peer.badPieces += 1
            peer.refused.insert(piece)
            peers[id] = peer
            if requesters[piece]?.isEmpty ?? true { release(piece, from: id) }
            // Doubt the manifest, not the peers, when two of them disagree with it on one
            // piece, or when two sent bad pieces and nobody a good one yet. A peer whose own
            // entry named the manifest cannot disagree with it: its bad pieces are its own
            // (a liar that named a made-up manifest is blamed, not believed).
            if !peer.namesManifest {
                badCopies[piece, default: []].insert(id)
                let senders = badCopies.values.reduce(into: Set<PeerID>()) { $0.formUnion($1) }
                if badCopies[piece]!.count >= 2 || (senders.count >= 2 && goodArrivals == 0) { return [.doubtManifest(piece: piece)] }
            }
            if peer.badPieces >= configuration.badPiecesToDrop {
                actions += drop(id, reason: .badPieces(peer.badPieces))
            }
            return actions
        }
        peer.failuresInARow = 0
        peers[id] = peer
        goodArrivals += 1
        // A duplicate that lost the endgame race: the piece is held already.
        guard states[piece] == .inFlight else { return actions }
        states[piece] = .held
        heldCount += 1
        for other in (requesters[piece] ?? [:]).keys.sorted() {
            peers[other]?.inFlight.remove(piece)
            actions.append(.cancel(piece: piece, peer: other))
        }
        requesters[piece] = nil
        return actions
    }

    /// A fetch of `piece` from `id` failed.
    public mutating func pieceFailed(_ piece: Int, from id: PeerID, _ failure: Failure, now: Double) -> [Action] {
        guard var peer = peers[id], peer.inFlight.contains(piece) else { return [] }
        peer.inFlight.remove(piece)
        switch failure {
        case .cancelled:
            break
        case .notHeld:
            if var have = peer.have, have[piece] {
                have[piece] = false
                holders[piece] -= 1
                peer.have = have
            } else if peer.have == nil {
                // It claimed the whole file and lacks a piece: it is partial after all.
                var have = Bitfield(count: pieceCount)
                for index in 0..<pieceCount where index != piece { have[index] = true }
                completePeers -= 1
                count(have, by: 1)
                peer.have = have
            }
        case .retriable:
            peer.failuresInARow += 1
            let doublings = min(peer.failuresInARow - 1, 5)
            peer.backOffUntil = now + configuration.retryBaseDelay * Double(1 << doublings)
        case .linkLost:
            peer.backOffUntil = max(peer.backOffUntil, now + configuration.linkLostBackOff)
        case .unusable:
            break
        }
        peers[id] = peer
        requesters[piece]?[id] = nil
        if requesters[piece]?.isEmpty ?? true { release(piece, from: id) }
        switch failure {
        case .unusable:
            return drop(id, reason: .unusable)
        case .retriable:
            let others = activePeers.filter { $0 != id }.count
            let limit = others > 0 || peer.hasFallback ? configuration.failuresToDrop : configuration.failuresToDropLast
            if peer.failuresInARow >= limit { return drop(id, reason: .failures(peer.failuresInARow)) }
            return []
        default:
            return []
        }
    }

    /// Whether an active peer other than `id` holds `piece` and did not send it bad.
    func anotherHolds(_ piece: Int, besides id: PeerID) -> Bool {
        peers.contains { $0.key != id && !$0.value.dropped && $0.value.holds(piece) && !$0.value.refused.contains(piece) }
    }

    /// Missing pieces that no active peer holds.
    /// Non-zero while nothing is in flight means the pull cannot finish with these peers.
    public var unavailablePieces: [Int] {
        let active = peers.values.filter { !$0.dropped }
        return (0..<pieceCount).filter { index in
            states[index] == .missing && !active.contains { $0.holds(index) }
        }
    }

    var activePeerCount: Int { peers.values.lazy.filter { !$0.dropped }.count }

    /// Whether any fetch is outstanding.
    public var hasFetchesInFlight: Bool { !requesters.isEmpty }

    // MARK: - Hashing in file order

    /// The next piece for the in-order whole-file hash.
    public func nextHashStep() -> HashStep {
        guard hashCursor < pieceCount else { return .complete }
        return states[hashCursor] == .held ? .hash(piece: hashCursor) : .wait
    }

    public mutating func pieceHashed(_ piece: Int) {
        precondition(piece == hashCursor && states[piece] == .held, "piece \(piece) hashed out of order (cursor \(hashCursor))")
        states[piece] = .hashed
        hashCursor += 1
    }

    // MARK: - Choosing

    /// The rarest missing piece nobody is fetching that `id` holds and did not send bad.
    func rarestUnrequested(for id: PeerID) -> Int? {
        guard unrequested > 0, let peer = peers[id] else { return nil }
        let inFileOrder = peers.values.allSatisfy { $0.dropped || $0.have == nil }
        var best: Int? = nil
        var bestAvailability = Int.max
        var bestTie = UInt64.max
        for index in 0..<pieceCount where states[index] == .missing {
            guard peer.holds(index), !peer.refused.contains(index) || !anotherHolds(index, besides: id) else { continue }
            if inFileOrder { return index }
            let availability = availability(index)
            let tie = Self.mix(UInt64(index) ^ configuration.salt)
            if availability < bestAvailability || (availability == bestAvailability && tie < bestTie) {
                (best, bestAvailability, bestTie) = (index, availability, tie)
            }
        }
        return best
    }

    /// In the endgame (every missing piece is being fetched), a piece in flight elsewhere
    /// that `id` may fetch too, with fewer than `endgameCopies` fetchers, once it is late:
    /// in flight for `endgameAfterSeconds` and twice what its fetcher's rate predicts. The
    /// one asked longest ago goes first; the first copy to arrive wins and the other is
    /// cancelled. A peer measured slower than the fetcher does not duplicate (it would lose
    /// the race). Returns the piece, or when the next one becomes late.
    func endgamePiece(for id: PeerID, now: Double) -> (piece: Int?, lateAt: Double?) {
        guard unrequested == 0, let peer = peers[id] else { return (nil, nil) }
        var best: (piece: Int, since: Double)? = nil
        var nextLate: Double? = nil
        for (piece, fetchers) in requesters where fetchers[id] == nil && fetchers.count < configuration.endgameCopies {
            guard peer.holds(piece), !peer.refused.contains(piece), let since = fetchers.values.min() else { continue }
            if let rate = peer.rate, fetchers.keys.contains(where: { (peers[$0]?.rate ?? 0) > rate }) { continue }
            let late = since + lateness(of: piece, fetchers: fetchers.keys)
            guard late <= now else {
                nextLate = min(nextLate ?? late, late)
                continue
            }
            if best.map({ since < $0.since || (since == $0.since && piece < $0.piece) }) ?? true { best = (piece, since) }
        }
        return (best?.piece, best == nil ? nextLate : nil)
    }

    /// How long a piece may be in flight before a second peer is asked for it.
    func lateness(of piece: Int, fetchers: some Sequence<PeerID>) -> Double {
        let length = Double(range(of: piece).length)
        let expected = fetchers.compactMap { id -> Double? in
            guard let fetcher = peers[id], let rate = fetcher.rate, rate > 0 else { return nil }
            return length * Double(max(1, fetcher.inFlight.count)) / rate
        }.min() ?? 0
        return max(configuration.endgameAfterSeconds, 2 * expected)
    }

    mutating func request(_ piece: Int, from id: PeerID, now: Double) {
        if states[piece] == .missing {
            states[piece] = .inFlight
            unrequested -= 1
        }
        requesters[piece, default: [:]][id] = now
        peers[id]?.inFlight.insert(piece)
        peers[id]?.runFollowers.remove(piece)
    }

    /// A piece nobody fetches any more goes back to missing.
    mutating func release(_ piece: Int, from id: PeerID) {
        requesters[piece]?[id] = nil
        guard requesters[piece]?.isEmpty ?? true else { return }
        requesters[piece] = nil
        if states[piece] == .inFlight {
            states[piece] = .missing
            unrequested += 1
        }
    }

    /// SplitMix64's finalizer: a cheap, well-spread order for ties.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
