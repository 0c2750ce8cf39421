import AtmoProtocol

/// The mesh's repositories merged once, indexed by `repo_id` and by every id a commit goes
/// by: a lookup costs the files of the commits it returns, not every file of the mesh. Built
/// from a `MeshCatalog` (`repositoryIndex()`) and valid while its `modelsRevision` holds
/// (the node keeps one per revision). Only what the catalogs' `repositories` decide is
/// kept: each provider's name, endpoints and announcement time are read from the catalog at
/// lookup (`MeshCatalog.repositories(_:in:)`), so a node's new endpoint shows at once.
public struct MeshRepositoryIndex: Sendable {
    /// One commit: its merged entry and its providers' own entries, by node id.
    struct Commit: Sendable {
        var entry: RepositoryEntry
        var announcements: [Announcement]
    }

    struct Announcement: Sendable {
        var nodeID: String
        var entry: RepositoryEntry
    }

    var commits: [MeshRepository.Key: Commit] = [:]
    var byRepoID: [String: [MeshRepository.Key]] = [:]
    var byModelID: [String: [MeshRepository.Key]] = [:]

    /// How many commits the index holds.
    public var count: Int { commits.count }

    init(offers: [String: MeshCatalog.NodeOffer]) {
        var grouped: [MeshRepository.Key: [Announcement]] = [:]
        for (nodeID, offer) in offers {
            // A node offering one commit twice counts once (its first entry).
            var seen: Set<MeshRepository.Key> = []
            for entry in offer.repositories {
                let key = MeshRepository.Key(entry: entry)
                guard seen.insert(key).inserted else { continue }
                grouped[key, default: []].append(Announcement(nodeID: nodeID, entry: entry))
            }
        }
        for (key, announcements) in grouped {
            let sorted = announcements.sorted { $0.nodeID < $1.nodeID }
            let merged = MeshCatalog.merged(sorted.map(\.entry))
            commits[key] = Commit(entry: merged, announcements: sorted)
            byRepoID[key.repoID, default: []].append(key)
            for id in Set(sorted.map(\.entry.modelID) + [merged.modelID]) { byModelID[id, default: []].append(key) }
        }
    }

    /// The commits of repository `repoID` (`org/name`, exact).
    public func keys(repoID: String) -> [MeshRepository.Key] { byRepoID[repoID] ?? [] }

    /// The commits some node offers under id `modelID` (plain or hashed), or merged under it.
    public func keys(modelID: String) -> [MeshRepository.Key] { byModelID[modelID] ?? [] }

    /// The commits some node's entry of which passes `include` (a walk of every commit's
    /// entries, not of their files).
    func keys(where include: (RepositoryEntry) -> Bool) -> [MeshRepository.Key] {
        commits.compactMap { key, commit in commit.announcements.contains { include($0.entry) } ? key : nil }
    }
}

extension MeshCatalog {
    /// The repositories of the mesh merged and indexed (MeshRepositoryIndex); valid while
    /// `modelsRevision` holds.
    public func repositoryIndex() -> MeshRepositoryIndex { MeshRepositoryIndex(offers: offers) }

    /// The commits `keys` of `index` with their providers as this catalog knows them now
    /// (a provider whose catalog is gone is left out), sorted by merged id then revision.
    public func repositories(_ keys: [MeshRepository.Key], in index: MeshRepositoryIndex) -> [MeshRepository] {
        keys.compactMap { key -> MeshRepository? in
            guard let commit = index.commits[key] else { return nil }
            let providers = commit.announcements.compactMap { announcement -> MeshRepository.Provider? in
                guard let offer = offers[announcement.nodeID] else { return nil }
                return MeshRepository.Provider(
                    nodeID: announcement.nodeID, nodeName: offer.nodeName, endpoints: offer.endpoints, announcedAt: offer.timestamp,
                    entry: announcement.entry)
            }
            guard !providers.isEmpty else { return nil }
            return MeshRepository(key: key, entry: commit.entry, providers: providers)
        }.sorted { ($0.entry.modelID, $0.key.revision) < ($1.entry.modelID, $1.key.revision) }
    }

    /// The commits of repository `repoID` in `index`.
    public func repositories(repoID: String, in index: MeshRepositoryIndex) -> [MeshRepository] {
        repositories(index.keys(repoID: repoID), in: index)
    }

    /// The revisions of repository `modelID` in `index` (as `repositoryVersions(of:)`).
    public func repositoryVersions(of modelID: String, in index: MeshRepositoryIndex) -> [MeshRepository] {
        repositories(index.keys(modelID: modelID), in: index)
    }

    /// The repositories matching `query` in `index` (as `searchRepositories(_:)`).
    public func searchRepositories(_ query: MeshQuery, in index: MeshRepositoryIndex) -> [MeshRepository] {
        repositories(index.keys { query.matches($0.summaryEntry) }, in: index)
    }
}
