import AtmoMesh
import AtmoProtocol

extension MeshState {
    /// The mesh's repositories matching `query` (this node's included), each with its
    /// providers: the nodes holding every file first, each group ranked by `PeerRanking`.
    func repositories(matching query: MeshQuery, localSHA256s: Set<String>, ownNodeID: String) -> [MeshAPI.Repository] {
        let now = Self.now()
        return state.withLock { state in
            state.catalogWithOwn(now: now).searchRepositories(query).map {
                Self.view(of: $0, in: state, localSHA256s: localSHA256s, ownNodeID: ownNodeID)
            }
        }
    }

    /// Every revision of repository `modelID` in the mesh.
    func repositoryVersions(of modelID: String, localSHA256s: Set<String>, ownNodeID: String) -> [MeshAPI.Repository] {
        let now = Self.now()
        return state.withLock { state in
            state.catalogWithOwn(now: now).repositoryVersions(of: modelID).map {
                Self.view(of: $0, in: state, localSHA256s: localSHA256s, ownNodeID: ownNodeID)
            }
        }
    }

    /// The merged repositories with each provider's own entry (what a pull of some files
    /// needs: who holds which file), this node's included.
    func meshRepositories(of modelID: String) -> [MeshRepository] {
        let now = Self.now()
        return state.withLock { $0.catalogWithOwn(now: now).repositoryVersions(of: modelID) }
    }

    static func view(of repository: MeshRepository, in state: State, localSHA256s: Set<String>, ownNodeID: String) -> MeshAPI.Repository {
        let others = repository.providers.filter { $0.nodeID != ownNodeID }
        let fileCounts = Dictionary(others.map { ($0.nodeID, $0.entry.files.count) }, uniquingKeysWith: { first, _ in first })
        let complete = Set(repository.completeProviders.map(\.nodeID))
        let candidates = others.map { provider in
            var stats =
                state.peers[provider.nodeID]?.stats
                ?? PeerStats(nodeID: provider.nodeID, nodeName: provider.nodeName, httpURL: provider.endpoints.http)
            if let http = provider.endpoints.http { stats.httpURL = MeshClient.trimmed(http) }
            return stats
        }
        let ranked = PeerRanking.ordered(candidates).map { stats in
            MeshAPI.Provider(
                nodeID: stats.nodeID, nodeName: stats.nodeName, http: stats.httpURL, latencyMs: stats.latencyMs,
                reliability: stats.reliability, activeTransfers: stats.activeTransfers, transports: stats.transports,
                files: fileCounts[stats.nodeID])
        }
        let installed = repository.entry.files.allSatisfy { localSHA256s.contains($0.sha256) }
        return MeshAPI.Repository(
            repository: repository.entry,
            providers: ranked.filter { complete.contains($0.nodeID) } + ranked.filter { !complete.contains($0.nodeID) },
            installed: installed)
    }
}
