import AtmoMesh
import AtmoProtocol
import Foundation

/// What the relays tell the mesh view: which peers are present through which relay, and the
/// catalogs they broadcast. A peer reachable through a relay keeps its models in the view
/// while it is there, even when its HTTP endpoint does not answer (it is behind a NAT).
extension MeshState {
    /// `nodeID` is in the mesh through `relay` (from `peers` or `peer_joined`).
    func relayPeerPresent(nodeID: String, name: String, relay: String) {
        update { state, now in
            state.relayPresence[nodeID, default: []].insert(relay)
            if var peer = state.peers[nodeID] {
                peer.stats.relayed = true
                peer.stats.lastSeenMs = max(peer.stats.lastSeenMs, now)
                state.peers[nodeID] = peer
            } else if state.peers.count < Self.maxPeers {
                var stats = PeerStats(nodeID: nodeID, nodeName: name.isEmpty ? nodeID : name, httpURL: nil, lastSeenMs: now)
                stats.relayed = true
                state.peers[nodeID] = Peer(stats: stats, origin: .relay)
            }
            state.version &+= 1
            return []
        }
    }

    /// `nodeID` left `relay` (or the connection to `relay` closed). Once it is on no relay, a
    /// peer with no HTTP endpoint that answers leaves the view with its models.
    func relayPeerGone(nodeID: String, relay: String) {
        update { state, now in
            state.relayPresence[nodeID]?.remove(relay)
            guard state.relayPresence[nodeID]?.isEmpty ?? true else { return [] }
            state.relayPresence[nodeID] = nil
            guard var peer = state.peers[nodeID] else { return [] }
            peer.stats.relayed = false
            state.version &+= 1
            let url = peer.stats.httpURL
            let reachable = url.map { (state.probeFailures[$0] ?? 0) == 0 && peer.stats.latencyMs != nil } ?? false
            if reachable {
                state.peers[nodeID] = peer
                return []
            }
            state.peers[nodeID] = nil
            return state.gossip.nodeDeparted(nodeID: nodeID, peer: url, now: now)
        }
    }

    /// A `model_catalog` that the relay delivered from `sender`. Only the sender's own
    /// catalog is taken (the relay vouches for who sent it, not for whom it describes); it
    /// then goes on through HTTP gossip like any other.
    /// Returns false when the catalog was refused.
    @discardableResult
    func receiveOverRelay(_ catalog: ModelCatalog, from sender: String) -> Bool {
        guard catalog.nodeID == sender else { return false }
        update { state, now in
            if state.peers[sender] == nil, state.peers.count < Self.maxPeers {
                var stats = PeerStats(nodeID: sender, nodeName: catalog.nodeName, httpURL: nil, lastSeenMs: now)
                stats.relayed = state.relayPresence[sender] != nil
                state.peers[sender] = Peer(stats: stats, origin: .relay)
            }
            return state.gossip.receive(catalog, from: nil, now: now)
        }
        return true
    }

    /// This node's catalog as last published, for a peer that just joined a relay.
    var ownCatalog: ModelCatalog { state.withLock { $0.gossip.ownCatalog } }
}
