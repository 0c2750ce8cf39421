import AtmoProtocol

extension GossipState {
    // MARK: - Catalogs from peers

    /// A peer pushed `catalog` (`POST /v1/catalogs`). Accepted when newer than anything
    /// known of its origin, then relayed once; `sender` (when known) is not relayed to.
    ///
    /// A catalog that came straight from its origin (`gossip_hops` 0) is answered with this
    /// node's own catalog, unless the origin's address was sent (or showed) this node's
    /// current catalog less than `introductionAnswerIntervalMs` ago: a newcomer (or a node
    /// that restarted) introduces itself this way, and would otherwise not get this node's
    /// catalog before its next periodic publication when this node is not the one it pulls
    /// from. Only this node's clock decides (the origin's may be off by minutes), and the
    /// address is the one the catalog claims: the interval is what keeps hosts that invent
    /// origins claiming another node's address from making this node push to it at will.
    /// The answer goes as a last hop (`hopLimit - 1`): like a pull answer it is for the
    /// origin, not news for the mesh, so it is not relayed.
    ///
    /// `senderKey` names who delivered it for the per-sender byte budget (the node passes
    /// the pushing client's address); nil: `sender`, or one shared "unknown" sender.
    public mutating func receive(
        _ catalog: ModelCatalog, from sender: Peer?, senderKey: String? = nil, now: Int64
    ) -> [GossipAction<Peer>] {
        let key = senderKey ?? sender.map { "\($0)" } ?? Self.unknownSender
        guard let (stored, record, admitted) = admit(catalog, sender: key, now: now) else { return [] }
        var actions = admitted
        let hops = min(catalog.gossipHops ?? 0, configuration.hopLimit)
        if started, hops == 0, let origin = peerAddress(stored), view.contains(origin),
            !holdsOwnCatalog(origin, within: configuration.introductionAnswerIntervalMs, now: now)
        {
            actions += pushOwnCatalog(to: [origin], hops: configuration.hopLimit - 1, now: now)
        }
        if hops + 1 < configuration.hopLimit {
            var excluded: [Peer] = []
            if let sender { excluded.append(sender) }
            if let origin = peerAddress(stored) { excluded.append(origin) }
            let targets = view.sample(configuration.fanout, excluding: excluded, using: &random)
            if !targets.isEmpty {
                statistics.relayed += 1
                let copy = stored.outgoingCopy(hops: hops + 1, expiresAtMs: record.expiresAtMs, nowMs: now)
                actions += targets.map { .push(copy, to: $0) }
            }
        }
        return actions + startPullIfWanted()
    }

    /// The answer to this node's pull (`GET /v1/catalogs` of `peer`): every catalog newer
    /// than what is known is accepted, none is relayed (they are not news to the mesh).
    /// When it answers the join pull, the node then pushes its own catalog to `fanout`
    /// peers of its now larger view that do not hold it yet: at start it may have known a
    /// single peer, and one lost push would have hidden it until its next publish. `peer`
    /// is one of them when its answer lacks this node's current catalog (a node that
    /// learned of `peer` from `peer`'s own push never sent it its catalog).
    ///
    /// The answer was asked for and may carry the whole mesh: it is held within the total
    /// and per-origin budgets, not within `maxBytesPerSender` (which bounds what one host
    /// can push unasked).
    public mutating func receivePull(_ catalogs: [ModelCatalog], from peer: Peer, now: Int64) -> [GossipAction<Peer>] {
        var completesJoin = false
        if case .inFlight(let asked, _) = pullProgress, asked == peer {
            pullProgress = .notNeeded
            completesJoin = true
        }
        var actions: [GossipAction<Peer>] = []
        for catalog in catalogs.prefix(configuration.maxCatalogs) {
            if catalog.nodeID == ownCatalog.nodeID {
                if started, catalog.timestamp >= ownCatalog.timestamp, view.contains(peer) { ownCatalogHolders[peer] = now }
                continue
            }
            if let (_, _, admitted) = admit(catalog, sender: Self.pullSender(peer), capsSender: false, now: now) {
                actions += admitted
            }
        }
        if completesJoin {
            var targets: [Peer] = []
            if view.contains(peer), ownCatalogHolders[peer] == nil { targets.append(peer) }
            let holders = Array(Set(ownCatalogHolders.keys).union([peer]))
            targets += view.sample(configuration.fanout - targets.count, excluding: holders, using: &random)
            actions += pushOwnCatalog(to: targets, now: now)
        }
        return actions + startPullIfWanted()
    }

    /// The pull asked of `peer` failed (no answer, an error, an unreadable body): ask
    /// another peer, if one was not asked yet.
    public mutating func pullFailed(from peer: Peer, now: Int64) -> [GossipAction<Peer>] {
        guard case .inFlight(let asked, let tried) = pullProgress, asked == peer else { return [] }
        pullProgress = .wanted(tried: tried, retryAtMs: now + configuration.pullRetryMs)
        return startPullIfWanted()
    }

    /// Accepts `catalog` if it is news: records it, learns its origin as a peer, keeps the
    /// bounds. Returns the stored copy (without `gossip_hops`), its record and the actions
    /// (`learned`, and `forgot` for catalogs evicted to make room); nil when refused.
    /// `capsSender`: whether `maxBytesPerSender` applies (not to the answer of a pull).
    mutating func admit(
        _ catalog: ModelCatalog, sender: String, capsSender: Bool = true, now: Int64
    ) -> (ModelCatalog, OriginRecord, [GossipAction<Peer>])? {
        let origin = catalog.nodeID
        guard origin != ownCatalog.nodeID, catalog.timestamp <= now + configuration.maxClockSkewMs,
            catalog.entryCount <= configuration.maxModelsHeld
        else {
            statistics.refused += 1
            return nil
        }
        if let known = records[origin], known.timestamp >= catalog.timestamp {
            statistics.duplicates += 1
            return nil
        }
        let stored = catalog.withGossipHops(nil)
        let bytes = stored.heldSize
        // The byte budgets (docs/MESH.md, "Memory"): room is made before anything changes,
        // or the catalog is refused and what is held stays as it was.
        let victims: [String]
        switch budgetDecision(for: stored, bytes: bytes, sender: sender, capsSender: capsSender) {
        case .admit(let dropped):
            victims = dropped
        case .refuse(let reason):
            statistics.refused += 1
            statistics.refusedForSize += 1
            refusedForSize(stored, bytes: bytes, sender: sender, reason: reason, now: now)
            return nil
        }
        var evicted: [GossipAction<Peer>] = []
        for victim in victims {
            dropCatalog(of: victim)
            statistics.evicted += 1
            evicted.append(.forgot(nodeID: victim))
        }
        dropCatalog(of: origin)
        let expiresAt = now + configuration.lifetimeMs(of: stored)
        let record = OriginRecord(
            timestamp: stored.timestamp, catalog: stored, expiresAtMs: expiresAt,
            forgetAtMs: expiresAt + configuration.duplicateMemoryMs, bytes: bytes, sender: sender)
        records[origin] = record
        heldModelCount += stored.entryCount
        heldBytes += bytes
        bytesBySender[sender, default: 0] += bytes
        nextDeadlineMs = min(nextDeadlineMs, expiresAt)
        statistics.accepted += 1
        refusedEntries(of: stored, bytes: bytes, sender: sender, now: now)
        if let peer = peerAddress(stored), peer != ownPeer {
            let replaceProbability = Double(configuration.maxPeers) / Double(max(1, records.count))
            view.insert(
                peer, source: .learned(originNodeID: origin), capacity: configuration.maxPeers,
                replaceProbability: replaceProbability, using: &random)
        }
        return (stored, record, evicted + [.learned(stored)] + evictToFit(keeping: origin))
    }

    /// Drops catalogs (earliest expiry first; bare timestamps before catalogs) until the
    /// bounds hold again, never the one of `keeping`.
    mutating func evictToFit(keeping: String) -> [GossipAction<Peer>] {
        var actions: [GossipAction<Peer>] = []
        while heldModelCount > configuration.maxModelsHeld || records.count > configuration.maxCatalogs {
            let heldOnly = heldModelCount > configuration.maxModelsHeld
            guard let victim = evictionVictim(heldOnly: heldOnly, keeping: keeping) else { break }
            if records[victim]?.catalog != nil {
                dropCatalog(of: victim)
                statistics.evicted += 1
                actions.append(.forgot(nodeID: victim))
            }
            if !heldOnly { records[victim] = nil }
        }
        return actions
    }

    private func evictionVictim(heldOnly: Bool, keeping: String) -> String? {
        var best: (origin: String, isHeld: Bool, deadline: Int64)?
        for (origin, record) in records where origin != keeping {
            let isHeld = record.catalog != nil
            if heldOnly && !isHeld { continue }
            let deadline = isHeld ? record.expiresAtMs : record.forgetAtMs
            if let current = best {
                let better =
                    (!isHeld && current.isHeld)
                    || (isHeld == current.isHeld
                        && (deadline < current.deadline || (deadline == current.deadline && origin < current.origin)))
                if !better { continue }
            }
            best = (origin, isHeld, deadline)
        }
        return best?.origin
    }

    // MARK: - Peers

    /// A peer was discovered (LAN discovery, configuration, an operator). It is sent this
    /// node's catalog (once started) unless it is known to hold it, and asked for everything
    /// if a pull is due.
    ///
    /// A peer already in the view because its catalog was learned is sent it too: having
    /// its catalog says nothing of whether it has this node's. Three nodes that found each
    /// other on the LAN at once lost one another this way (the mesh-lan flake): c learned a
    /// from b's relay before finding a on the LAN, so finding a sent it nothing; a's own
    /// push to c arrived after that relay, a duplicate, so it was not answered either; and
    /// a's join pull had been answered by b before b knew c. a missed c's catalog until c's
    /// next publication, 300 s later (`GossipLANDiscoveryOrderTests`).
    public mutating func peerDiscovered(_ peer: Peer, now: Int64) -> [GossipAction<Peer>] {
        guard peer != ownPeer else { return [] }
        let isNew = view.insert(peer, source: .direct, capacity: configuration.maxPeers, using: &random)
        guard started, isNew || (view.contains(peer) && ownCatalogHolders[peer] == nil) else { return [] }
        return pushOwnCatalog(to: [peer], now: now) + startPullIfWanted(preferring: peer)
    }

    /// The push of `catalog` to `peer` failed (connection refused, timeout, an error
    /// status): `peer` leaves the view, as with `peerUnreachable`, and the same copy goes to
    /// one other random peer (not its origin), so dead peers in the view do not thin out
    /// the fanout. Each failure removes a peer, so substitution always ends.
    public mutating func pushFailed(_ catalog: ModelCatalog, to peer: Peer, now: Int64) -> [GossipAction<Peer>] {
        var actions = peerUnreachable(peer, now: now)
        var excluded = [peer]
        if let origin = peerAddress(catalog) { excluded.append(origin) }
        if let substitute = view.sample(1, excluding: excluded, using: &random).first {
            if catalog.nodeID == ownCatalog.nodeID, catalog.timestamp == ownCatalog.timestamp { ownCatalogHolders[substitute] = now }
            actions.append(.push(catalog, to: substitute))
        }
        return actions
    }

    /// `peer` could not be reached (a probe failed, or it stopped answering): it leaves
    /// the view, and a pull in flight to it counts as failed.
    public mutating func peerUnreachable(_ peer: Peer, now: Int64) -> [GossipAction<Peer>] {
        view.remove(peer)
        ownCatalogHolders[peer] = nil
        return pullFailed(from: peer, now: now)
    }

    /// The node `nodeID` said goodbye: its catalog is dropped (its timestamp is remembered,
    /// so late copies are not accepted again) and its peer leaves the view.
    public mutating func nodeDeparted(nodeID: String, peer: Peer?, now: Int64) -> [GossipAction<Peer>] {
        var actions: [GossipAction<Peer>] = []
        if records[nodeID]?.catalog != nil {
            dropCatalog(of: nodeID)
            actions.append(.forgot(nodeID: nodeID))
        }
        if let peer {
            view.remove(peer)
            ownCatalogHolders[peer] = nil
            actions += pullFailed(from: peer, now: now)
        }
        return actions
    }

    mutating func startPullIfWanted(preferring preferred: Peer? = nil) -> [GossipAction<Peer>] {
        guard case .wanted(let tried, _) = pullProgress else { return [] }
        let target: Peer?
        if let preferred, view.contains(preferred), !tried.contains(preferred) {
            target = preferred
        } else {
            target = view.sample(1, excluding: tried, using: &random).first
        }
        guard let target else { return [] }
        pullProgress = .inFlight(target, tried: tried + [target])
        return [.pull(from: target)]
    }
}
