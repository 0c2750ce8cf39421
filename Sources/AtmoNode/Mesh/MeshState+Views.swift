import AtmoMesh
import AtmoProtocol

extension MeshState {
    /// The mesh's models matching `query`, each with its providers best first (the order a
    /// pull tries them) and whether this node holds that very artefact (`localSHA256s`).
    func models(matching query: MeshQuery, localSHA256s: Set<String>, ownNodeID: String) -> [MeshAPI.Model] {
        let now = Self.now()
        return state.withLock { state in
            state.catalogWithOwn(now: now).search(query).map { model in
                MeshAPI.Model(
                    entry: model.entry, providers: Self.rankedProviders(of: model, in: state, excluding: ownNodeID),
                    installed: localSHA256s.contains(model.key.sha256))
            }
        }
    }

    /// Every version of `modelID` in the mesh, providers best first.
    func versions(of modelID: String, localSHA256s: Set<String>, ownNodeID: String, preference: PeerRanking.Preference = .automatic)
        -> [MeshAPI.Model]
    {
        let now = Self.now()
        return state.withLock { state in
            state.catalogWithOwn(now: now).versions(of: modelID).map { model in
                MeshAPI.Model(
                    entry: model.entry,
                    providers: Self.rankedProviders(of: model, in: state, excluding: ownNodeID, preference: preference),
                    installed: localSHA256s.contains(model.key.sha256))
            }
        }
    }

    /// The peers known, by name then id, each with the refusals of catalogs concerning it.
    func peerList() -> [MeshAPI.Peer] {
        state.withLock { state in
            var list = state.peers.peers.values.map { peer in
                MeshAPI.Peer(
                    nodeID: peer.stats.nodeID, nodeName: peer.stats.nodeName, http: peer.stats.httpURL, origin: peer.origin.rawValue,
                    latencyMs: peer.stats.latencyMs, activeTransfers: peer.stats.activeTransfers, reliability: peer.stats.reliability,
                    lastSeen: peer.stats.lastSeenMs, modelCount: state.catalog.models(offeredBy: peer.stats.nodeID).count,
                    transports: peer.stats.transports, probeError: peer.probeFailure?.rawValue)
            }
            for (url, pending) in state.peers.pending {
                list.append(
                    MeshAPI.Peer(
                        nodeID: "", nodeName: "", http: url, origin: pending.origin.rawValue, latencyMs: nil, activeTransfers: nil,
                        reliability: pending.reliability, lastSeen: 0, modelCount: 0, probeError: pending.probeFailure?.rawValue))
            }
            list.sort { ($0.nodeName, $0.nodeID, $0.http ?? "") < ($1.nodeName, $1.nodeID, $1.http ?? "") }
            // Bounded however many peers share an address: at most `refusalsPerPeer` on one
            // peer and `refusalsOnPeers` on all of them (the top level lists each refusal once).
            var room = state.refusedCatalogs.count > 0 ? Self.refusalsOnPeers : 0
            for index in list.indices where room > 0 {
                let refused = state.refusedCatalogs.concerning(
                    nodeID: list[index].nodeID, http: list[index].http, limit: min(Self.refusalsPerPeer, room))
                room -= refused.count
                list[index].refusedCatalogs = refused.isEmpty ? nil : refused
            }
            return list
        }
    }

    /// Most refusals listed beside one peer in `peerList` (the newest).
    static let refusalsPerPeer = 8
    /// Most refusals listed beside the peers of `peerList` in all.
    static let refusalsOnPeers = 512

    /// The answer to `GET /v1/mesh/peers`: the peers, and every refusal remembered.
    func peerListAnswer() -> MeshAPI.PeerList {
        let refused = refusedCatalogs
        return MeshAPI.PeerList(peers: peerList(), refusedCatalogs: refused.isEmpty ? nil : refused)
    }

    /// The answer to `GET /v1/catalogs`.
    func catalogsForPull() -> [ModelCatalog] {
        let now = Self.now()
        return state.withLock { $0.gossip.catalogsForPull(now: now) }
    }

    /// The providers of `model` but this node, the nodes holding it whole first, then the
    /// partial holders (flagged `partial`), each group ranked by `PeerRanking`.
    static func rankedProviders(
        of model: MeshModel, in state: State, excluding ownNodeID: String, preference: PeerRanking.Preference = .automatic
    ) -> [MeshAPI.Provider] {
        let others = model.providers.filter { $0.nodeID != ownNodeID }
        let ranked = Self.ranked(
            others.map { ($0.nodeID, $0.nodeName, $0.endpoints.http) }, in: state, preference: preference,
            partial: Set(others.filter(\.partial).map(\.nodeID)))
        return ranked.filter { !$0.isPartial } + ranked.filter(\.isPartial)
    }

    /// Providers of one artefact (node id, name, the endpoint their catalog gives for it) as
    /// `MeshAPI.Provider`s ranked by `PeerRanking` on what this node knows of each peer;
    /// `partial` names the partial holders, `files` how many of a repository's files each holds.
    static func ranked(
        _ providers: [(nodeID: String, nodeName: String, http: String?)], in state: State,
        preference: PeerRanking.Preference = .automatic, partial: Set<String> = [], files: [String: Int] = [:]
    ) -> [MeshAPI.Provider] {
        let candidates = providers.map { provider in
            var stats =
                state.peers[provider.nodeID]?.stats
                ?? PeerStats(nodeID: provider.nodeID, nodeName: provider.nodeName, httpURL: provider.http)
            // The catalog's endpoint is the one that offers this artefact.
            if let http = provider.http { stats.httpURL = MeshClient.trimmed(http) }
            return stats
        }
        return PeerRanking.ordered(candidates, preference: preference).map { stats in
            MeshAPI.Provider(
                nodeID: stats.nodeID, nodeName: stats.nodeName, http: stats.httpURL, latencyMs: stats.latencyMs,
                reliability: stats.reliability, activeTransfers: stats.activeTransfers, transports: stats.transports,
                partial: partial.contains(stats.nodeID), files: files[stats.nodeID])
        }
    }
}

extension MeshState.State {
    /// The mesh catalog plus this node's own catalog: the mesh view includes this node's
    /// models (they show as installed, with the other nodes that offer them as providers).
    func catalogWithOwn(now: Int64) -> MeshCatalog {
        var merged = catalog
        let own = gossip.ownCatalog
        if own.timestamp > 0 { merged.apply(own, now: now) }
        return merged
    }
}
