import AtmoProtocol

/// The repositories of the mesh (issue 12), merged from the nodes' `repositories`.
///
/// Entries of several nodes merge into one `MeshRepository` per commit: (`repo_id`,
/// `revision`), the repository id compared exactly as the Hugging Face cache names its
/// folders (case-sensitive). Two commits are two versions, never mixed; one commit is one
/// repository however its nodes name it: a node holding it as its `main` offers it as
/// `{org}--{name}`, a node holding it beside another `main` (a tag, a branch) as
/// `{org}--{name}-{hash}`. The merged entry takes the plain id when some provider offers
/// it (`MeshRepository.preferredID`), the union of every provider's refs, and every file
/// some provider holds but none of a path two providers list with other contents (each
/// named by the id its merged `model_id` gives it where a provider of that id holds the
/// same file). Each provider keeps its own entry: a file is fetched from a provider by that
/// provider's own file id, and a pull knows who holds which file. A node offering one
/// commit twice counts once (its first entry). Expiry and removal follow the catalogs.
extension MeshCatalog {
    /// The repositories of `catalog` that count: one per `model_id` (the first wins), at
    /// most `WireLimits.maxRepositoriesPerCatalog`.
    static func repositories(of catalog: ModelCatalog) -> [RepositoryEntry] {
        guard !catalog.repositories.isEmpty else { return [] }
        var seen: Set<String> = []
        return catalog.repositories.prefix(WireLimits.maxRepositoriesPerCatalog).filter { seen.insert($0.modelID).inserted }
    }

    /// Every repository of the mesh, one per commit (`repo_id`, `revision`), sorted by
    /// merged id then revision; providers sorted by node id.
    public var repositories: [MeshRepository] { mergedRepositories { _ in true } }

    /// The revisions of repository `modelID` in the mesh, sorted by revision: every commit
    /// some node offers under that id (plain or hashed), each merged with the nodes that
    /// offer the same commit under the other.
    public func repositoryVersions(of modelID: String) -> [MeshRepository] {
        mergedRepositories { $0.modelID == modelID }
    }

    /// The repositories matching `query` (its text, type, format and capability, read as
    /// for a model entry with the repository's name, id and `source_ref`): a commit matches
    /// when one of its nodes' entries does.
    public func searchRepositories(_ query: MeshQuery) -> [MeshRepository] {
        mergedRepositories { query.matches($0.summaryEntry) }
    }

    /// The commits some node's entry of which passes `include`, each merged from every
    /// node offering it (through a fresh `MeshRepositoryIndex`; a node keeps one per
    /// `modelsRevision` instead).
    func mergedRepositories(where include: (RepositoryEntry) -> Bool) -> [MeshRepository] {
        let index = repositoryIndex()
        return repositories(index.keys(where: include), in: index)
    }

    /// One commit's entry from its providers' entries (by node id): the preferred id and
    /// that provider's description, the union of refs, and every path some provider holds
    /// on which the providers listing it agree (same SHA-256, size and blob id). A path two
    /// providers list with other contents is left out: which of them tells the truth cannot
    /// be told from the catalogs, so neither is served or pulled (docs/PROTOCOL.md, "Trust").
    static func merged(_ entries: [RepositoryEntry]) -> RepositoryEntry {
        let modelID = MeshRepository.preferredID(among: entries.map(\.modelID), repoID: entries[0].repoID)
        let named = entries.first { $0.modelID == modelID } ?? entries[0]
        var files: [String: RepositoryFile] = [:]
        var disputed: Set<String> = []
        for entry in entries {
            for file in entry.files {
                guard let held = files[file.path] else {
                    files[file.path] = file
                    continue
                }
                if !held.hasSameContent(as: file) { disputed.insert(file.path) }
            }
        }
        for path in disputed { files[path] = nil }
        // A file's id as the merged id's providers name it, when one of them holds it alike.
        let namers = entries.filter { $0.modelID == modelID }.map(\.filesByPath)
        for (path, file) in files {
            let alike = namers.lazy.compactMap { $0[path] }.first { $0.hasSameContent(as: file) }
            if let alike, alike.modelID != file.modelID { files[path]?.modelID = alike.modelID }
        }
        // Two files never share an id (an entry where they would is invalid): the first path keeps it.
        var ids: Set<String> = []
        let paths = files.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .filter { ids.insert(files[$0]?.modelID ?? "").inserted }.prefix(WireLimits.maxFilesPerRepository)
        return RepositoryEntry(
            modelID: modelID, repoID: named.repoID, revision: named.revision,
            refs: Array(Set(entries.flatMap(\.refs)).sorted().prefix(WireLimits.maxRefsPerRepository)),
            name: named.name, type: named.type, format: named.format, capabilities: named.capabilities,
            version: named.version, source: named.source, sourceRef: named.sourceRef, files: paths.compactMap { files[$0] },
            repoType: named.repoType, extra: named.extra)
    }
}

extension RepositoryFile {
    /// Whether `other` names the same contents: SHA-256, size and blob id.
    func hasSameContent(as other: RepositoryFile) -> Bool {
        sha256 == other.sha256 && sizeBytes == other.sizeBytes && blobID == other.blobID
    }
}

extension RepositoryEntry {
    /// The files by path (the first of a path wins).
    var filesByPath: [String: RepositoryFile] {
        Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// One commit of a repository in the mesh and the nodes offering (some or all of) its files.
public struct MeshRepository: Sendable, Hashable, Identifiable {
    /// A commit of a repository: the repository id (`org/name`, exact) and the commit.
    public struct Key: Sendable, Hashable, Comparable {
        public var repoID: String
        public var revision: String

        public init(repoID: String, revision: String) {
            self.repoID = repoID
            self.revision = revision
        }

        /// The commit `entry` offers.
        public init(entry: RepositoryEntry) {
            self.init(repoID: entry.repoID, revision: entry.revision)
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.repoID, lhs.revision) < (rhs.repoID, rhs.revision)
        }
    }

    /// A node offering the commit, with the files it holds.
    public struct Provider: Sendable, Hashable {
        public var nodeID: String
        public var nodeName: String
        public var endpoints: ModelCatalog.TransferEndpoints
        /// `timestamp` of the catalog that announced it (ms).
        public var announcedAt: Int64
        /// The entry as this node announced it: its own ids (the repository's and each
        /// file's, by which the node serves it) and the files it holds.
        public var entry: RepositoryEntry

        /// Whether the node holds `file` (same path and content).
        public func holds(_ file: RepositoryFile) -> Bool {
            ownFile(file) != nil
        }

        /// The node's own entry of `file` (same path and content): a download from this
        /// node asks for its `model_id`, which may differ from the merged entry's.
        public func ownFile(_ file: RepositoryFile) -> RepositoryFile? {
            entry.file(atPath: file.path).flatMap { $0.sha256 == file.sha256 && $0.sizeBytes == file.sizeBytes ? $0 : nil }
        }
    }

    public var key: Key
    /// The merged entry: the preferred id, every provider's refs, every file some provider
    /// holds that no other provider lists with other contents, sorted by path.
    public var entry: RepositoryEntry
    /// The nodes offering it, by node id.
    public var providers: [Provider]

    public var id: Key { key }

    /// The providers holding every file of `entry`.
    public var completeProviders: [Provider] {
        providers.filter { provider in
            guard provider.entry.files.count >= entry.files.count else { return false }
            let own = provider.entry.filesByPath
            return entry.files.allSatisfy { file in own[file.path].map { $0.sha256 == file.sha256 && $0.sizeBytes == file.sizeBytes } ?? false }
        }
    }

    /// The providers of one file, by node id.
    public func providers(of file: RepositoryFile) -> [Provider] { providers.filter { $0.holds(file) } }

    /// Each provider's own entry (its ids, its files), by node id: what a pull asks each by.
    public var providerEntries: [String: RepositoryEntry] {
        Dictionary(providers.map { ($0.nodeID, $0.entry) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether `modelID` names this commit: the merged id or a provider's own.
    public func isNamed(_ modelID: String) -> Bool {
        entry.modelID == modelID || providers.contains { $0.entry.modelID == modelID }
    }

    /// The id one commit of `repoID` goes by in the mesh, among the ids its nodes offer it
    /// under: the plain `{org}--{name}` (a node holds it as its `main`), else the form a
    /// scanner gives a snapshot another ref names (`{org}--{name}-{8 hex}`), else the
    /// shortest; ties by the id's bytes, so every node picks the same.
    public static func preferredID(among ids: [String], repoID: String) -> String {
        let plain = repoID.replacingOccurrences(of: "/", with: "--")
        func rank(_ id: String) -> Int {
            if id == plain { return 0 }
            let suffix = id.utf8.dropFirst(plain.utf8.count)
            let hashed =
                id.hasPrefix(plain + "-") && suffix.count == 9
                && suffix.dropFirst().allSatisfy {
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
                }
            return hashed ? 1 : 2
        }
        return ids.min { (rank($0), $0.utf8.count, $0) < (rank($1), $1.utf8.count, $1) } ?? plain
    }
}
