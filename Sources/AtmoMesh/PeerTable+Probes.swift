/// The events of probes (`GET /health`), transfers and restarts.
extension PeerTable {
    /// What a `/health` answer said.
    package struct Health: Sendable, Hashable {
        /// Its `node_id`; empty when it does not say (older nodes).
        package var nodeID: String
        /// Its `node_name`; may be empty.
        package var nodeName: String
        package var activeTransfers: Int?

        package init(nodeID: String, nodeName: String, activeTransfers: Int? = nil) {
            self.nodeID = nodeID
            self.nodeName = nodeName
            self.activeTransfers = activeTransfers
        }
    }

    /// The probe of `url` answered with `health` after `latencyMs`. A pending address is
    /// tied to the node that answers (or, when its `/health` names none, to the node id its
    /// discovery announced): a new peer, or one already known (learned from gossip under
    /// another address), which then takes the address's origin when that says more (a
    /// configured address makes it configured, and is kept to try again when it goes). The
    /// answering peer's endpoint is proven. A full table keeps the address pending.
    package mutating func probeSucceeded(_ url: String, health: Health, latencyMs: Double, now: Int64) -> [Action] {
        probeFailures[url] = nil
        if !health.nodeID.isEmpty, health.nodeID == ownNodeID {
            // A configured or discovered address that is this very node.
            if pending.removeValue(forKey: url) != nil { revision &+= 1 }
            return [.notAPeer(url)]
        }
        var actions: [Action] = []
        if let held = pending[url] {
            let nodeID = health.nodeID.isEmpty ? held.nodeID ?? "" : health.nodeID
            if !nodeID.isEmpty, nodeID != ownNodeID, peers[nodeID] != nil || peers.count < capacity {
                // Now it is known who answers there.
                pending[url] = nil
                var peer =
                    peers[nodeID]
                    ?? Peer(
                        stats: PeerStats(
                            nodeID: nodeID, nodeName: health.nodeName.isEmpty ? held.nodeName ?? "" : health.nodeName, httpURL: url,
                            reliability: held.reliability),
                        origin: held.origin)
                peer.adopt(held, at: url)
                peers[nodeID] = peer
                revision &+= 1
                actions.append(.gossipWith(url))
            }
        }
        if let nodeID = nodeID(at: url) {
            peers[nodeID]?.stats.recordProbe(latencyMs: latencyMs, activeTransfers: health.activeTransfers, now: now)
            peers[nodeID]?.probeFailure = nil
            revision &+= 1
        }
        return actions
    }

    /// The probe of `url` failed (`reason`: timed out, or refused, an error status...). The
    /// peer there is failing; after `failedProbesBeforeDeparture` in a row, and on no relay,
    /// it is gone. A pending address (a configured peer never reached) keeps the failure and
    /// its reliability falls as a peer's would: a peer that only trickles its answers shows
    /// as timing out, not as "not reached yet".
    package mutating func probeFailed(_ url: String, reason: ProbeFailure = .failed, now: Int64) -> [Action] {
        let failures = probeFailures[url, default: 0] + 1
        probeFailures[url] = failures
        if var held = pending[url] {
            held.reliability *= 0.9  // as `PeerStats.recordFailure`
            held.probeFailure = reason
            pending[url] = held
            revision &+= 1
        }
        guard let nodeID = nodeID(at: url), var peer = peers[nodeID] else { return [] }
        peer.stats.recordFailure()
        peer.stats.httpReachability = .failing
        peer.probeFailure = reason
        peers[nodeID] = peer
        revision &+= 1
        // Still reachable through a relay: its endpoint is just not reachable from here.
        guard failures >= failedProbesBeforeDeparture, peer.relays.isEmpty else { return [] }
        // Gone: its models are forgotten; a configured one's addresses stay pending (`remove`).
        return remove(nodeID)
    }

    /// A transfer from `nodeID` succeeded or failed: its reliability moves.
    package mutating func outcome(nodeID: String, success: Bool, now: Int64) -> [Action] {
        guard peers[nodeID] != nil else { return [] }
        if success {
            peers[nodeID]?.stats.recordSuccess(now: now)
        } else {
            peers[nodeID]?.stats.recordFailure()
        }
        revision &+= 1
        return []
    }

    /// Peers measured in an earlier run: restored (their endpoints unproven until probed)
    /// and gossiped with again, so a restarted node rejoins the mesh it knew.
    package mutating func restored(_ records: [(stats: PeerStats, origin: PeerOrigin)]) -> [Action] {
        var actions: [Action] = []
        for (stats, origin) in records where stats.nodeID != ownNodeID && peers[stats.nodeID] == nil && peers.count < capacity {
            var stats = stats
            stats.relayed = false
            stats.httpReachability = .unknown
            peers[stats.nodeID] = Peer(stats: stats, origin: origin)
            if let url = stats.httpURL, !url.isEmpty { actions.append(.gossipWith(url)) }
        }
        revision &+= 1
        return actions
    }
}
