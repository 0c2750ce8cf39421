import AtmoMesh
import AtmoProtocol

/// The mesh's repositories merged and indexed once per catalog revision and set of this
/// node's own repositories (`MeshState.State.repositoryIndex`): a request for one
/// repository costs its files, not every file the mesh offers.
struct RepositoryIndexCache: Sendable {
    var revision: UInt64
    var own: [RepositoryEntry]
    var index: MeshRepositoryIndex
}

extension MeshState.State {
    /// The mesh catalog with this node's own, and its repositories' index (rebuilt only when
    /// the catalog's `modelsRevision` or this node's own repositories changed).
    mutating func repositoryView(now: Int64) -> (catalog: MeshCatalog, index: MeshRepositoryIndex) {
        let merged = catalogWithOwn(now: now)
        let own = gossip.ownCatalog.timestamp > 0 ? gossip.ownCatalog.repositories : []
        if let cached = repositoryIndex, cached.revision == catalog.modelsRevision, cached.own == own {
            return (merged, cached.index)
        }
        let index = merged.repositoryIndex()
        repositoryIndex = RepositoryIndexCache(revision: catalog.modelsRevision, own: own, index: index)
        return (merged, index)
    }

    /// Whether this node takes `nodeID`'s word on a commit before other nodes' (F9 of the
    /// trust model, docs/PROTOCOL.md "Trust"): a configured peer (its configured address
    /// answered as that node) or a node present on a relay this node is connected to.
    func trusts(_ nodeID: String) -> Bool {
        guard let peer = peers[nodeID] else { return false }
        return peer.origin == .configured || !peer.relays.isEmpty
    }
}

extension MeshState {
    /// The mesh's repositories matching `query` (this node's included), each with its
    /// providers: the nodes holding every file first, each group ranked by `PeerRanking`.
    func repositories(matching query: MeshQuery, localSHA256s: Set<String>, ownNodeID: String) -> [MeshAPI.Repository] {
        let now = Self.now()
        return state.withLock { state in
            let (catalog, index) = state.repositoryView(now: now)
            return catalog.searchRepositories(query, in: index).map {
                Self.view(of: $0, in: state, localSHA256s: localSHA256s, ownNodeID: ownNodeID)
            }
        }
    }

    /// Every revision of repository `modelID` in the mesh, the one the mesh vouches for
    /// most first (`MeshRepository.ranked`: trusted providers, then distinct hosts).
    func repositoryVersions(of modelID: String, localSHA256s: Set<String>, ownNodeID: String) -> [MeshAPI.Repository] {
        let now = Self.now()
        return state.withLock { state in
            let (catalog, index) = state.repositoryView(now: now)
            let ranked = MeshRepository.ranked(
                catalog.repositoryVersions(of: modelID, in: index), excluding: ownNodeID, trusted: { state.trusts($0) })
            return ranked.map { Self.view(of: $0, in: state, localSHA256s: localSHA256s, ownNodeID: ownNodeID) }
        }
    }

    /// The revisions of repository `repoID` (`org/name`) other nodes offer, the one the
    /// mesh vouches for most first: what the Hub endpoint answers for a repository this
    /// node does not hold (one repository's files walked, not the mesh's).
    func offeredRevisions(repoID: String, ownNodeID: String) -> [RepositoryEntry] {
        let now = Self.now()
        return state.withLock { state in
            let (catalog, index) = state.repositoryView(now: now)
            let offered = catalog.repositories(repoID: repoID, in: index).filter { $0.providers.contains { $0.nodeID != ownNodeID } }
            return MeshRepository.ranked(offered, excluding: ownNodeID, trusted: { state.trusts($0) }).map(\.entry)
        }
    }

    /// The merged repositories with each provider's own entry (what a pull of some files
    /// needs: who holds which file), this node's included.
    func meshRepositories(of modelID: String) -> [MeshRepository] {
        let now = Self.now()
        return state.withLock { state in
            let (catalog, index) = state.repositoryView(now: now)
            return catalog.repositoryVersions(of: modelID, in: index)
        }
    }

    static func view(of repository: MeshRepository, in state: State, localSHA256s: Set<String>, ownNodeID: String) -> MeshAPI.Repository {
        let others = repository.providers.filter { $0.nodeID != ownNodeID }
        let fileCounts = Dictionary(others.map { ($0.nodeID, $0.entry.files.count) }, uniquingKeysWith: { first, _ in first })
        let complete = Set(repository.completeProviders.map(\.nodeID))
        let ranked = Self.ranked(others.map { ($0.nodeID, $0.nodeName, $0.endpoints.http) }, in: state, files: fileCounts)
        let installed = repository.entry.files.allSatisfy { localSHA256s.contains($0.sha256) }
        return MeshAPI.Repository(
            repository: repository.entry,
            providers: ranked.filter { complete.contains($0.nodeID) } + ranked.filter { !complete.contains($0.nodeID) },
            installed: installed)
    }
}
