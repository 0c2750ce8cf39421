import AtmoMesh
import AtmoProtocol

/// The glue between the peer table (AtmoMesh's `PeerTable`, where the rules are) and the
/// rest of the mesh view: its actions become gossip events, catalog removals and probes.
extension MeshState {
    /// Runs a peer-table event under the lock and performs what it asks.
    func updatePeers(_ event: (inout PeerTable, Int64) -> [PeerTable.Action]) {
        update { state, now in
            let actions = event(&state.peers, now)
            return state.perform(actions, now: now)
        }
    }

    /// A transfer from a peer succeeded or failed: its reliability moves (EMA of the notes).
    func recordOutcome(nodeID: String, success: Bool) {
        updatePeers { peers, now in peers.outcome(nodeID: nodeID, success: success, now: now) }
    }

    /// The node id to use for an older node at `url` whose `/health` names none: the one
    /// its DNS-SD TXT record announced.
    func announcedNodeID(at url: String) -> String? {
        state.withLock { state in state.peers.nodeID(at: url) ?? state.peers.pending[url]?.nodeID }
    }
}

extension MeshState.State {
    /// Performs the peer table's actions: gossip with addresses, drop departed nodes (their
    /// models leave the catalog through gossip's `.forgot`), queue probes. Returns the
    /// gossip actions for `MeshState.update`.
    mutating func perform(_ actions: [PeerTable.Action], now: Int64) -> [GossipAction<String>] {
        var gossipActions: [GossipAction<String>] = []
        for action in actions {
            switch action {
            case .probe(let url):
                probesWanted.append(url)
            case .gossipWith(let url):
                gossipActions += gossip.peerDiscovered(url, now: now)
            case .notAPeer(let url):
                gossipActions += gossip.peerUnreachable(url, now: now)
            case .departed(let nodeID, let url):
                gossipActions += gossip.nodeDeparted(nodeID: nodeID, peer: url, now: now)
            }
        }
        return gossipActions
    }
}

extension PeerTable {
    /// `learned(nodeID:...)` with what `catalog` says of its node.
    mutating func learned(_ catalog: ModelCatalog, now: Int64) -> [Action] {
        learned(
            nodeID: catalog.nodeID, nodeName: catalog.nodeName, httpURL: catalog.transferEndpoints.http.map(MeshClient.trimmed),
            websocket: catalog.transferEndpoints.websocket, now: now)
    }
}
