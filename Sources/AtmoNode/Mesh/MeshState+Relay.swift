import AtmoMesh
import AtmoProtocol
import Foundation

/// What the relays tell the mesh view: which peers are present through which relay, and the
/// catalogs they broadcast. A peer reachable through a relay keeps its models in the view
/// while it is there, even when its HTTP endpoint does not answer (it is behind a NAT).
extension MeshState {
    /// `nodeID` is in the mesh through `relay` (from `peers` or `peer_joined`).
    func relayPeerPresent(nodeID: String, name: String, relay: String) {
        updatePeers { peers, now in peers.relayPresent(nodeID: nodeID, name: name, relay: relay, now: now) }
    }

    /// `nodeID` left `relay` (or the connection to `relay` closed). Once it is on no relay, a
    /// peer with no HTTP endpoint that answers leaves the view with its models.
    func relayPeerGone(nodeID: String, relay: String) {
        updatePeers { peers, now in peers.relayGone(nodeID: nodeID, relay: relay, now: now) }
    }

    /// A `model_catalog` that the relay delivered from `sender`. Only the sender's own
    /// catalog is taken (the relay vouches for who sent it, not for whom it describes); it
    /// then goes on through HTTP gossip like any other. It counts against the budget of that
    /// sender (the relay vouches for its node id), not one budget shared by every relayed peer.
    /// Returns false when the catalog was refused.
    @discardableResult
    func receiveOverRelay(_ catalog: ModelCatalog, from sender: String) -> Bool {
        gossipCounters.received(.relay)
        guard catalog.nodeID == sender else { return false }
        update { state, now in
            state.perform(state.peers.receivedOverRelay(from: sender, nodeName: catalog.nodeName, now: now), now: now)
                + state.gossip.receive(catalog, from: nil, senderKey: "relay:" + sender, now: now)
        }
        return true
    }

    /// This node's catalog as last published, for a peer that just joined a relay.
    var ownCatalog: ModelCatalog { state.withLock { $0.gossip.ownCatalog } }
}
