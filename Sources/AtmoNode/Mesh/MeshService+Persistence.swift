import AtmoMesh
import AtmoStore
import Foundation

extension MeshService {
    /// Peers not heard from for this long are not restored at start (and are deleted).
    static let forgetPeersAfterMs: Int64 = 7 * 24 * 3600 * 1000

    /// Restores the peers measured in earlier runs (latency, load, reliability survive a
    /// restart) and makes the reachable ones gossip peers again: a restarted node rejoins
    /// the mesh it knew without waiting for discovery. Dead ones drop out after failed probes.
    /// Called before the services start (gossip sends nothing until it starts).
    func restorePeers() async {
        guard let database else { return }
        let cutoff = MeshState.now() - Self.forgetPeersAfterMs
        let records: [PeerRecord]
        do {
            records = try await BlockingIO.run {
                _ = try database.deletePeers(lastSeenBefore: cutoff)
                return try database.allPeers()
            }
        } catch {
            logger.warning("could not read the saved peers: \(error)")
            return
        }
        let restored = records.map { record in
            (
                stats: PeerStats(
                    nodeID: record.nodeID, nodeName: record.nodeName, httpURL: record.httpURL, websocket: record.websocket,
                    latencyMs: record.latencyMs, activeTransfers: record.activeTransfers, reliability: record.reliability,
                    lastSeenMs: record.lastSeenMs),
                origin: PeerOrigin(record.source)
            )
        }
        mesh.updatePeers { peers, _ in peers.restored(restored) }
    }

    /// Saves what is known of every peer (called after each probe round).
    func savePeers() async {
        guard let database else { return }
        let records = mesh.state.withLock { state in
            state.peers.peers.values.map { peer in
                PeerRecord(
                    nodeID: peer.stats.nodeID, nodeName: peer.stats.nodeName, httpURL: peer.stats.httpURL, websocket: peer.stats.websocket,
                    latencyMs: peer.stats.latencyMs, activeTransfers: peer.stats.activeTransfers, reliability: peer.stats.reliability,
                    lastSeenMs: peer.stats.lastSeenMs, source: peer.origin.recordSource)
            }
        }
        do {
            try await BlockingIO.run { try database.savePeers(records) }
        } catch {
            logger.warning("could not save the peers: \(error)")
        }
    }
}

extension PeerOrigin {
    init(_ source: PeerRecord.Source) {
        switch source {
        case .configured: self = .configured
        case .mdns: self = .lan
        default: self = .gossip
        }
    }

    var recordSource: PeerRecord.Source {
        switch self {
        case .configured: .configured
        case .lan: .mdns
        case .gossip, .relay: .gossip  // a relay peer is remembered for its measurements only
        }
    }
}
