import AtmoMesh
import AtmoProtocol

/// The repositories the Hub endpoint answers for, and the pure rules that pick one for a
/// repository id and a revision: this node's own snapshots first, then the mesh's.
///
/// A commit this node holds is answered from its own snapshot alone: a peer announcing the
/// same commit with more (or other) files adds nothing to it. The one exception is a
/// snapshot this node is filling from the mesh's listing (`fillingFromMesh`: the endpoint
/// answered the commit from the mesh and fetches its files one by one): its listing is the
/// mesh's, the files this node holds taking the place of the mesh's at their paths.
package struct HubCatalog: Sendable {
    /// Snapshots this node holds: every file is served from here by its `model_id`.
    package var local: [RepositoryEntry]
    /// The revisions of a repository id that peers offer, the one the mesh vouches for
    /// most first (`MeshRepository.ranked`): asked for one repository at a time.
    package var meshRevisions: @Sendable (String) -> [RepositoryEntry]
    /// Commits whose snapshot this node fills from the mesh's listing.
    package var fillingFromMesh: Set<MeshRepository.Key>

    /// A catalog over a fixed list of mesh revisions (tests; the node asks by repository id).
    package init(local: [RepositoryEntry], mesh: [RepositoryEntry] = [], fillingFromMesh: Set<MeshRepository.Key> = []) {
        self.init(local: local, meshRevisions: { repoID in mesh.filter { $0.repoID == repoID } }, fillingFromMesh: fillingFromMesh)
    }

    package init(
        local: [RepositoryEntry], meshRevisions: @escaping @Sendable (String) -> [RepositoryEntry],
        fillingFromMesh: Set<MeshRepository.Key> = []
    ) {
        self.local = local
        self.meshRevisions = meshRevisions
        self.fillingFromMesh = fillingFromMesh
    }

    /// One repository revision: its listing, and the part of it this node holds.
    package struct Resolved: Sendable, Equatable {
        /// The revision's files: this node's snapshot, or the mesh's listing for a commit
        /// this node does not hold or is filling from the mesh.
        package var entry: RepositoryEntry
        /// This node's snapshot of the revision, nil when it holds none of it.
        package var local: RepositoryEntry?

        package var isLocal: Bool { local != nil }

        /// The file at `path` as this node holds it, nil when only the mesh has it.
        package func localFile(_ path: String) -> RepositoryFile? {
            local?.file(atPath: path)
        }
    }

    /// Why no revision was found: the Hub's error codes.
    package enum Miss: Error, Sendable, Equatable {
        /// No snapshot of this repository anywhere (`RepoNotFound`).
        case repository
        /// The repository is known, this revision is not (`RevisionNotFound`).
        case revision
    }

    /// The snapshot of `repoID` at `revision` (nil: `main`): a commit is matched exactly, a
    /// ref name against each snapshot's `refs`. This node's snapshots are looked at first (a
    /// ref names the commit this node has), then the mesh's (the first of `meshRevisions`
    /// that carries the ref: the one the mesh vouches for most).
    package func resolve(repoID: String, revision: String?) -> Result<Resolved, Miss> {
        let revision = revision ?? "main"
        let matches = { (entry: RepositoryEntry) in
            Validation.isValidRevision(revision) ? entry.revision == revision : entry.refs.contains(revision)
        }
        if let own = local.first(where: { $0.repoID == repoID && matches($0) }) {
            guard fillingFromMesh.contains(MeshRepository.Key(entry: own)) else { return .success(Resolved(entry: own, local: own)) }
            let theirs = meshRevisions(repoID).first { $0.revision == own.revision }
            return .success(Resolved(entry: theirs.map { Self.filled(own, listing: $0) } ?? own, local: own))
        }
        let mesh = meshRevisions(repoID)
        if let theirs = mesh.first(where: matches) {
            guard let own = local.first(where: { $0.repoID == repoID && $0.revision == theirs.revision }) else {
                return .success(Resolved(entry: theirs, local: nil))
            }
            let filling = fillingFromMesh.contains(MeshRepository.Key(entry: own))
            return .success(Resolved(entry: filling ? Self.filled(own, listing: theirs) : own, local: own))
        }
        let known = !mesh.isEmpty || local.contains { $0.repoID == repoID }
        return .failure(known ? .revision : .repository)
    }

    /// A snapshot filled from the mesh: `own` with the paths of `listing` it lacks.
    static func filled(_ own: RepositoryEntry, listing: RepositoryEntry) -> RepositoryEntry {
        let held = Set(own.files.map(\.path))
        var entry = own
        entry.files = (own.files + listing.files.filter { !held.contains($0.path) })
            .sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        entry.sizeBytes = entry.files.reduce(0) { $0 + $1.sizeBytes }
        return entry
    }

    /// Files of `entry` under a tree listing's folder `path` (nil: the root): all of them
    /// when `recursive`, else the direct children, files and folders, sorted by path.
    package static func treeItems(_ entry: RepositoryEntry, path: String?, recursive: Bool) -> [TreeItem]? {
        let prefix = path.map { $0 + "/" } ?? ""
        var items: [TreeItem] = []
        var folders: Set<String> = []
        for file in entry.files where file.path.hasPrefix(prefix) {
            let rest = file.path.dropFirst(prefix.count)
            let parts = rest.split(separator: "/")
            // Every folder on the way is listed once (the Hub lists folders in recursive
            // listings too); a non-recursive listing stops at the first level.
            let depth = recursive ? parts.count - 1 : min(1, parts.count - 1)
            for level in 0..<depth {
                let folder = prefix + parts[...level].joined(separator: "/")
                if folders.insert(folder).inserted { items.append(.folder(path: folder)) }
            }
            if recursive || parts.count == 1 { items.append(.file(file)) }
        }
        // A path that is neither a folder nor the root names nothing (a file is not a tree).
        if path != nil, items.isEmpty { return nil }
        return items.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// An item of a tree listing.
    package enum TreeItem: Sendable, Equatable {
        case file(RepositoryFile)
        case folder(path: String)

        package var path: String {
            switch self {
            case .file(let file): file.path
            case .folder(let path): path
            }
        }
    }
}
