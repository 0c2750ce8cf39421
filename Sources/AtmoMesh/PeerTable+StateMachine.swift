/// The events of discovery, gossip and relays.
extension PeerTable {
    /// An address from the configuration (`.configured`) or LAN discovery (`.lan`, with the
    /// node id, name and instance name its DNS-SD records announce). It stays pending until
    /// a probe or a catalog says who serves there; gossip may use it at once.
    package mutating func discovered(
        _ url: String, origin: PeerOrigin, nodeID: String? = nil, nodeName: String? = nil, instanceName: String? = nil
    ) -> [Action] {
        guard nodeID != ownNodeID else { return [] }
        if let known = self.nodeID(at: url), var peer = peers[known] {
            // A peer learned from gossip before discovery reported its address: it takes the
            // address's origin when that says more (LAN over gossip, configured over all), as
            // when a probe ties a pending address to it. Nodes that find each other at once
            // often learn one another's catalogs first (it was listed as "gossip", and left
            // with its catalog).
            let before = peer
            peer.adopt(Pending(origin: origin, nodeID: nodeID, nodeName: nodeName, instanceName: instanceName), at: url)
            if peer != before {
                peers[known] = peer
                revision &+= 1
            }
        } else if let held = pending[url] {
            // A configured address stays configured (it is kept when it fails).
            var merged = held
            merged.origin = held.origin == .configured ? .configured : origin
            (merged.nodeID, merged.nodeName) = (nodeID ?? held.nodeID, nodeName ?? held.nodeName)
            merged.instanceName = instanceName ?? held.instanceName
            if merged != held {
                pending[url] = merged
                revision &+= 1
            }
        } else if pending.count < capacity {
            pending[url] = Pending(origin: origin, nodeID: nodeID, nodeName: nodeName, instanceName: instanceName)
            revision &+= 1
        }
        return [.gossipWith(url)]
    }

    /// A catalog (through HTTP gossip or a relay) told who `nodeID` is and where it serves
    /// (`httpURL`, trimmed; nil: no endpoint). A new address is unproven until probed.
    package mutating func learned(nodeID: String, nodeName: String, httpURL: String?, websocket: Bool, now: Int64) -> [Action] {
        guard nodeID != ownNodeID else { return [] }
        if var peer = peers[nodeID] {
            let before = peer
            peer.stats.nodeName = nodeName
            if let httpURL, httpURL != peer.stats.httpURL {
                peer.stats.httpURL = httpURL
                peer.stats.httpReachability = .unknown
                peer.probeAsked = false
            }
            peer.stats.websocket = websocket
            peer.stats.lastSeenMs = max(peer.stats.lastSeenMs, now)
            peers[nodeID] = peer
            noteChange(from: before, to: peer, now: now)
        } else {
            guard peers.count < capacity else { return [] }
            var peer = Peer(
                stats: PeerStats(nodeID: nodeID, nodeName: nodeName, httpURL: httpURL, websocket: websocket, lastSeenMs: now),
                origin: .gossip)
            if let httpURL, let held = pending.removeValue(forKey: httpURL) { peer.adopt(held, at: httpURL) }
            peers[nodeID] = peer
            revision &+= 1
        }
        return probeIfUnproven(nodeID)
    }

    /// Gossip forgot `nodeID`'s catalog (expired or said goodbye): a peer known only from
    /// gossip goes with it. Configured and LAN peers stay (they are probed and come back);
    /// so does a peer a relay still has.
    package mutating func forgotten(nodeID: String) -> [Action] {
        guard let peer = peers[nodeID], peer.origin == .gossip, peer.relays.isEmpty else { return [] }
        peers[nodeID] = nil
        revision &+= 1
        return []
    }

    /// The DNS-SD instance `instanceName` said goodbye (or expired): the LAN peer it was
    /// goes, with its models, unless a relay still has it (a configured one stays pending).
    package mutating func lanLost(instanceName: String) -> [Action] {
        let match =
            peers.values.first { $0.lanInstanceName == instanceName }
            ?? peers.values.first { $0.lanInstanceName == nil && $0.origin == .lan && $0.stats.nodeName == instanceName }
        guard let peer = match else { return [] }
        guard peer.relays.isEmpty else {
            peers[peer.stats.nodeID]?.lanInstanceName = nil
            return []
        }
        return remove(peer.stats.nodeID)
    }

    /// `nodeID` is in the mesh through `relay` (its `peers` list or `peer_joined`).
    package mutating func relayPresent(nodeID: String, name: String, relay: String, now: Int64) -> [Action] {
        guard nodeID != ownNodeID else { return [] }
        if var peer = peers[nodeID] {
            let before = peer
            peer.relays.insert(relay)
            peer.stats.relayed = true
            peer.stats.lastSeenMs = max(peer.stats.lastSeenMs, now)
            peers[nodeID] = peer
            noteChange(from: before, to: peer, now: now)
        } else {
            guard peers.count < capacity else { return [] }
            var stats = PeerStats(nodeID: nodeID, nodeName: name.isEmpty ? nodeID : name, httpURL: nil, lastSeenMs: now)
            stats.relayed = true
            peers[nodeID] = Peer(stats: stats, origin: .relay, relays: [relay])
            revision &+= 1
        }
        return probeIfUnproven(nodeID)
    }

    /// `nodeID` left `relay` (or the connection to `relay` closed). On no relay any more, it
    /// stays only when its HTTP endpoint answered its last probe; else it is gone (a
    /// configured one stays pending).
    package mutating func relayGone(nodeID: String, relay: String, now: Int64) -> [Action] {
        guard var peer = peers[nodeID], peer.relays.remove(relay) != nil else { return [] }
        peer.stats.relayed = !peer.relays.isEmpty
        peers[nodeID] = peer
        revision &+= 1
        guard peer.relays.isEmpty, peer.stats.httpReachability != .answering else { return [] }
        return remove(nodeID)
    }

    /// A relay delivered a catalog that `sender` sent (and signed for by being the sender):
    /// the sender is a peer, known through the relay, before its catalog is learned.
    package mutating func receivedOverRelay(from sender: String, nodeName: String, now: Int64) -> [Action] {
        guard sender != ownNodeID, peers[sender] == nil, peers.count < capacity else { return [] }
        peers[sender] = Peer(stats: PeerStats(nodeID: sender, nodeName: nodeName, httpURL: nil, lastSeenMs: now), origin: .relay)
        revision &+= 1
        return []
    }
}
