import AtmoMesh
import AtmoProtocol
import Foundation

extension MeshService {
    /// Probes left unanswered in a row before a peer's models leave the mesh catalog.
    static let failedProbesBeforeDeparture = 3

    /// Times `/health` of every peer with an HTTP endpoint (and of addresses not yet tied to
    /// a node), recording latency and load; a peer that fails `failedProbesBeforeDeparture`
    /// probes in a row is treated as gone: its models leave the catalog at once instead of
    /// at the end of their TTL.
    func probePeers() async {
        let targets = mesh.state.withLock { state in
            Array(Set(state.peers.values.compactMap(\.stats.httpURL)).union(state.pendingURLs.keys)).sorted()
        }
        // At most `probeConcurrency` requests at a time, however many peers there are.
        var start = 0
        while start < targets.count, !Task.isCancelled {
            let batch = targets[start..<min(targets.count, start + Self.probeConcurrency)]
            await withDiscardingTaskGroup { group in
                for url in batch {
                    group.addTask { await self.probe(url) }
                }
            }
            start += Self.probeConcurrency
        }
    }

    static let probeConcurrency = 16

    private func probe(_ url: String) async {
        do {
            let (health, roundTrip) = try await client.probe(url)
            let latencyMs = Double(roundTrip.components.attoseconds) / 1e15 + Double(roundTrip.components.seconds) * 1000
            mesh.update { state, now in
                state.probeFailures[url] = nil
                var actions: [GossipAction<String>] = []
                if health.nodeID == identity.nodeID {
                    // A configured or discovered address that is this very node.
                    state.pendingURLs[url] = nil
                    return state.gossip.peerUnreachable(url, now: now)
                }
                if let origin = state.pendingURLs[url], !health.nodeID.isEmpty {
                    // Now it is known who answers there.
                    state.pendingURLs[url] = nil
                    if state.peers[health.nodeID] == nil {
                        state.peers[health.nodeID] = MeshState.Peer(
                            stats: PeerStats(nodeID: health.nodeID, nodeName: health.nodeName, httpURL: url), origin: origin)
                    }
                    actions += state.gossip.peerDiscovered(url, now: now)
                }
                if let nodeID = state.nodeID(at: url) {
                    state.peers[nodeID]?.stats.recordProbe(latencyMs: latencyMs, activeTransfers: health.activeTransfers, now: now)
                    state.version &+= 1
                }
                return actions
            }
        } catch {
            logger.debug("peer probe failed", metadata: ["peer": "\(url)", "error": "\(error)"])
            mesh.update { state, now in
                let failures = (state.probeFailures[url] ?? 0) + 1
                state.probeFailures[url] = failures
                guard let nodeID = state.nodeID(at: url) else { return [] }
                state.peers[nodeID]?.stats.recordFailure()
                state.peers[nodeID]?.stats.httpFailing = true
                state.version &+= 1
                guard failures >= Self.failedProbesBeforeDeparture else { return [] }
                // Still reachable through a relay: its HTTP endpoint is just not reachable from here.
                if state.relayPresence[nodeID] != nil { return [] }
                if state.peers[nodeID]?.origin == .configured {
                    // Keep the configured address to try again; forget its models.
                    state.pendingURLs[url] = .configured
                }
                state.peers[nodeID] = nil
                return state.gossip.nodeDeparted(nodeID: nodeID, peer: url, now: now)
            }
        }
    }
}

extension MeshState.State {
    /// The node known to serve at `url`.
    func nodeID(at url: String) -> String? {
        peers.first { $0.value.stats.httpURL == url }?.key
    }
}
