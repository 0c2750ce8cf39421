import AtmoProtocol

/// The repositories of the mesh (issue 12), merged from the nodes' `repositories`.
///
/// Entries of several nodes merge into one `MeshRepository` per (`model_id`, `revision`):
/// two commits are two versions, never mixed. A Hugging Face cache may hold only some files
/// of a revision (`hf_hub_download` of one file), so nodes may offer different subsets: the
/// merged entry lists every file some provider holds (the first provider's file by node id
/// when two disagree on a path), and each provider keeps its own entry, so a pull knows who
/// holds which file. Expiry and removal follow the nodes' catalogs.
extension MeshCatalog {
    /// The repositories of `catalog` that count: one per `model_id` (the first wins), at
    /// most `WireLimits.maxRepositoriesPerCatalog`.
    static func repositories(of catalog: ModelCatalog) -> [RepositoryEntry] {
        guard !catalog.repositories.isEmpty else { return [] }
        var seen: Set<String> = []
        return catalog.repositories.prefix(WireLimits.maxRepositoriesPerCatalog).filter { seen.insert($0.modelID).inserted }
    }

    /// Every repository of the mesh, one per (`model_id`, `revision`), sorted by id then
    /// revision; providers sorted by node id.
    public var repositories: [MeshRepository] { mergedRepositories { _ in true } }

    /// The revisions of repository `modelID` in the mesh, sorted by revision.
    public func repositoryVersions(of modelID: String) -> [MeshRepository] {
        mergedRepositories { $0.modelID == modelID }
    }

    /// The repositories matching `query` (its text, type, format and capability, read as
    /// for a model entry with the repository's name, id and `source_ref`).
    public func searchRepositories(_ query: MeshQuery) -> [MeshRepository] {
        mergedRepositories { query.matches($0.summaryEntry) }
    }

    func mergedRepositories(where include: (RepositoryEntry) -> Bool) -> [MeshRepository] {
        var grouped: [MeshRepository.Key: [(nodeID: String, entry: RepositoryEntry)]] = [:]
        for (nodeID, offer) in offers {
            for entry in offer.repositories where include(entry) {
                grouped[MeshRepository.Key(modelID: entry.modelID, revision: entry.revision), default: []].append((nodeID, entry))
            }
        }
        return grouped.compactMap { key, announcements -> MeshRepository? in
            let sorted = announcements.sorted { $0.nodeID < $1.nodeID }
            var files: [String: RepositoryFile] = [:]
            for announcement in sorted {
                for file in announcement.entry.files where files[file.path] == nil { files[file.path] = file }
            }
            let first = sorted[0].entry
            let paths = files.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.prefix(WireLimits.maxFilesPerRepository)
            let merged = RepositoryEntry(
                modelID: first.modelID, repoID: first.repoID, revision: first.revision,
                refs: Array(Set(sorted.flatMap(\.entry.refs)).sorted().prefix(WireLimits.maxRefsPerRepository)),
                name: first.name, type: first.type, format: first.format, capabilities: first.capabilities,
                version: first.version, source: first.source, sourceRef: first.sourceRef, files: paths.compactMap { files[$0] },
                repoType: first.repoType, extra: first.extra)
            let providers = sorted.compactMap { announcement -> MeshRepository.Provider? in
                guard let offer = offers[announcement.nodeID] else { return nil }
                return MeshRepository.Provider(
                    nodeID: announcement.nodeID, nodeName: offer.nodeName, endpoints: offer.endpoints, announcedAt: offer.timestamp,
                    entry: announcement.entry)
            }
            return MeshRepository(key: key, entry: merged, providers: providers)
        }.sorted { $0.key < $1.key }
    }
}

/// One repository revision of the mesh and the nodes offering (some or all of) its files.
public struct MeshRepository: Sendable, Hashable, Identifiable {
    /// A repository revision: the repository's `model_id` and the commit.
    public struct Key: Sendable, Hashable, Comparable {
        public var modelID: String
        public var revision: String

        public init(modelID: String, revision: String) {
            self.modelID = modelID
            self.revision = revision
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.modelID, lhs.revision) < (rhs.modelID, rhs.revision)
        }
    }

    /// A node offering the revision, with the files it holds.
    public struct Provider: Sendable, Hashable {
        public var nodeID: String
        public var nodeName: String
        public var endpoints: ModelCatalog.TransferEndpoints
        /// `timestamp` of the catalog that announced it (ms).
        public var announcedAt: Int64
        /// The entry as this node announced it: the files it holds.
        public var entry: RepositoryEntry

        /// Whether the node holds `file` (same path and content).
        public func holds(_ file: RepositoryFile) -> Bool {
            entry.file(atPath: file.path).map { $0.sha256 == file.sha256 && $0.sizeBytes == file.sizeBytes } ?? false
        }
    }

    public var key: Key
    /// Every file some provider holds, sorted by path.
    public var entry: RepositoryEntry
    /// The nodes offering it, by node id.
    public var providers: [Provider]

    public var id: Key { key }

    /// The providers holding every file of `entry`.
    public var completeProviders: [Provider] { providers.filter { provider in entry.files.allSatisfy(provider.holds) } }

    /// The providers of one file, by node id.
    public func providers(of file: RepositoryFile) -> [Provider] { providers.filter { $0.holds(file) } }
}
