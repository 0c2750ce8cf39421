extension SwarmSchedule {
    /// A peer joins the pull. `have` nil: it holds the whole file. `channelLimit`: the most
    /// fetches its channel carries at once.
    /// `hasFallback`: the engine has another route to the same node, so failures drop this
    /// one as soon as if other peers were left.
    public mutating func addPeer(_ id: PeerID, have: Bitfield?, channelLimit: Int, hasFallback: Bool = false, now: Double) {
        guard peers[id] == nil else { return }
        let have = have.flatMap { $0.count == pieceCount ? $0 : nil }
        peers[id] = Peer(have: have, channelLimit: max(1, channelLimit), hasFallback: hasFallback, sampleStart: now)
        count(have, by: 1)
    }

    /// `id`'s own catalog entry names the manifest this pull checks pieces against: a bad
    /// piece from it is blamed on it and never makes the manifest doubted (a first source
    /// that names a made-up manifest and serves bytes that fail it must not be believed over
    /// the peers whose pieces fail its manifest).
    public mutating func vouchForManifest(_ id: PeerID) {
        peers[id]?.namesManifest = true
    }

    /// A partial holder's pieces, fresh (from its `/have` answer or its catalog). Pieces it
    /// held before stay held: a node never loses a verified piece while it pulls.
    public mutating func updateHave(_ id: PeerID, have: Bitfield) {
        guard var peer = peers[id], !peer.dropped, let old = peer.have, have.count == pieceCount else { return }
        var merged = old
        for index in 0..<pieceCount where have[index] && !old[index] {
            merged[index] = true
            holders[index] += 1
        }
        if merged.setCount == pieceCount {
            count(merged, by: -1)
            merged = Bitfield(count: 0)
            peer.have = nil
            completePeers += 1
        } else {
            peer.have = merged
        }
        peers[id] = peer
    }

    /// The peer is out of the pull (`reason` nil: gone without blame, as when its channel
    /// closed for good): its fetches are over, its pieces no longer count.
    public mutating func removePeer(_ id: PeerID, reason: DropReason? = nil) -> [Action] {
        guard peers[id]?.dropped == false else { return [] }
        return drop(id, reason: reason)
    }

    /// A piece found good outside any fetch (an earlier run's, verified again from disk).
    public mutating func markHeld(_ piece: Int) {
        guard piece >= 0, piece < pieceCount, states[piece] == .missing else { return }
        states[piece] = .held
        heldCount += 1
        unrequested -= 1
    }

    /// Bytes arrived from `peer` (any piece, as they stream in): what its rate is measured on.
    public mutating func received(_ id: PeerID, bytes: Int64) {
        peers[id]?.bytesSinceSample += bytes
    }

    /// Measures rates and drops a peer far slower than the best one, if others are left.
    /// Call it about every second.
    public mutating func tick(now: Double) -> [Action] {
        for id in peers.keys where !peers[id]!.dropped {
            var peer = peers[id]!
            let elapsed = now - peer.sampleStart
            guard elapsed >= 0.5 else { continue }
            // Only time with work outstanding counts: an idle peer is not a slow one.
            if !peer.inFlight.isEmpty || peer.bytesSinceSample > 0 {
                let sample = Double(peer.bytesSinceSample) / elapsed
                peer.rate = peer.rate.map { $0 * 0.6 + sample * 0.4 } ?? sample
                if peer.measuredSince == nil { peer.measuredSince = peer.sampleStart }
            }
            peer.bytesSinceSample = 0
            peer.sampleStart = now
            peers[id] = peer
        }
        let measured = peers.filter { !$0.value.dropped && $0.value.rate != nil && now - ($0.value.measuredSince ?? now) >= configuration.slowAfterSeconds }
        guard measured.count >= 2, let best = measured.values.compactMap(\.rate).max(), best > 0 else { return [] }
        var actions: [Action] = []
        for (id, peer) in measured.sorted(by: { $0.key < $1.key }) where (peer.rate ?? 0) < best * configuration.slowFraction {
            guard activePeers.count > 1 else { break }
            // Only a peer the others can stand in for: every piece it could give, someone else holds.
            guard canBeReplaced(id) else { continue }
            actions += drop(id, reason: .slow(rate: peer.rate ?? 0, best: best))
        }
        return actions
    }

    /// Whether the other active peers hold every missing piece `id` holds.
    func canBeReplaced(_ id: PeerID) -> Bool {
        let others = peers.filter { $0.key != id && !$0.value.dropped }
        if others.values.contains(where: { $0.have == nil }) { return true }
        for index in 0..<pieceCount where states[index] == .missing || states[index] == .inFlight {
            guard peers[id]?.holds(index) == true else { continue }
            if !others.values.contains(where: { $0.holds(index) }) { return false }
        }
        return true
    }

    /// Marks a peer dropped, returns its pieces in flight to missing (unless another peer
    /// is fetching them too) and says so.
    mutating func drop(_ id: PeerID, reason: DropReason?) -> [Action] {
        guard var peer = peers[id], !peer.dropped else { return [] }
        peer.dropped = true
        for piece in peer.inFlight { release(piece, from: id) }
        peer.inFlight = []
        count(peer.have, by: -1)
        peers[id] = peer
        return reason.map { [.drop(peer: id, reason: $0)] } ?? []
    }

    /// Adds (or removes) a peer's pieces to the holder counts.
    mutating func count(_ have: Bitfield?, by delta: Int) {
        guard let have else {
            completePeers += delta
            return
        }
        for index in 0..<pieceCount where have[index] { holders[index] += delta }
    }

    /// How many active peers hold `piece`.
    func availability(_ piece: Int) -> Int { holders[piece] + completePeers }

    /// The most fetches `peer` should have outstanding now.
    func depth(of peer: Peer) -> Int {
        let cap = min(configuration.maxRequestsPerPeer, peer.channelLimit)
        guard let rate = peer.rate else { return max(1, min(configuration.initialRequestsPerPeer, cap)) }
        let wanted = (rate * configuration.queueSeconds / Double(pieceSize)).rounded()
        return max(1, min(cap, Int(min(wanted, 1e6))))
    }
}
