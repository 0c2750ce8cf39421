import AtmoProtocol

/// The repositories the Hub endpoint answers for, and the pure rules that pick one for a
/// repository id and a revision: this node's own snapshots first, then the mesh's.
package struct HubCatalog: Sendable {
    /// Snapshots this node holds: every file is served from here by its `model_id`.
    package var local: [RepositoryEntry]
    /// Snapshots peers offer that this node does not hold.
    package var mesh: [RepositoryEntry]

    package init(local: [RepositoryEntry], mesh: [RepositoryEntry] = []) {
        self.local = local
        self.mesh = mesh
    }

    /// One repository revision: its listing, and the part of it this node holds.
    package struct Resolved: Sendable, Equatable {
        /// The revision's files as completely as known: the mesh's entry when it lists more
        /// files than this node's snapshot (a snapshot pulled one file at a time).
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
    /// ref names the commit this node has), then the mesh's; among several snapshots of one
    /// kind that carry the same ref, the first listed.
    package func resolve(repoID: String, revision: String?) -> Result<Resolved, Miss> {
        let revision = revision ?? "main"
        let matches = { (entry: RepositoryEntry) in
            Validation.isValidRevision(revision) ? entry.revision == revision : entry.refs.contains(revision)
        }
        if let own = local.first(where: { $0.repoID == repoID && matches($0) }) {
            let theirs = mesh.first { $0.repoID == repoID && $0.revision == own.revision }
            let listing = theirs.map { $0.files.count > own.files.count ? $0 : own } ?? own
            return .success(Resolved(entry: listing, local: own))
        }
        if let theirs = mesh.first(where: { $0.repoID == repoID && matches($0) }) {
            let own = local.first { $0.repoID == repoID && $0.revision == theirs.revision }
            let listing = own.map { $0.files.count >= theirs.files.count ? $0 : theirs } ?? theirs
            return .success(Resolved(entry: listing, local: own))
        }
        let known = (local + mesh).contains { $0.repoID == repoID }
        return .failure(known ? .revision : .repository)
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
