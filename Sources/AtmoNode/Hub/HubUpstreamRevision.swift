import AtmoProtocol
import AtmoStore
import Synchronization

/// A revision being mirrored from the upstream: its commit and file listing (known before
/// any file), which answer info, tree and `HEAD` at once, and whether every file is in the
/// cache yet. Files are fetched in listing order by the mirror's walk, and any file a client
/// asks for is fetched at once (`HubUpstream.attempt`), so a client waits for its file, not
/// for the revision.
final class HubUpstreamRevision: Sendable {
    let repoID: String
    let commit: String
    /// The listing, sorted by path (UTF-8 bytes).
    let files: [HubUpstreamClient.File]
    /// The listing as a repository entry, for the Hub answers (info, tree): LFS files carry
    /// their SHA-256; a file kept in git carries its git blob id only (`sha256` is
    /// `unknownSHA256` until its bytes are here: the Hub answers never show it).
    let entry: RepositoryEntry
    private let walked: Mutex<Walk>

    enum Walk: Sendable, Equatable {
        case running
        case complete
        case failed
    }

    static let unknownSHA256 = String(repeating: "0", count: 64)

    // The entry is built by a static function, and every stored property assigned here:
    // Swift 6.3.1's optimizer crashed (CopyPropagation, "Found outside of lifetime use") on
    // this initializer in release builds when it built the entry inline beside the Mutex's
    // default value.
    init(repoID: String, commit: String, files: [HubUpstreamClient.File]) {
        let sorted = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        self.repoID = repoID
        self.commit = commit
        self.files = sorted
        entry = Self.repositoryEntry(repoID: repoID, commit: commit, sorted: sorted)
        walked = Mutex(.running)
    }

    private static func repositoryEntry(repoID: String, commit: String, sorted: [HubUpstreamClient.File]) -> RepositoryEntry {
        let parts = repoID.split(separator: "/").map(String.init)
        let (org, name) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
        return RepositoryEntry(
            modelID: ModelIdentifier.sanitize(org.isEmpty ? name : org + "--" + name), repoID: repoID, revision: commit,
            name: repoID, version: String(commit.prefix(12)), sourceRef: repoID,
            files: sorted.map { file in
                RepositoryFile(
                    path: file.path, sizeBytes: file.sizeBytes, sha256: file.isLFS ? file.blobID : unknownSHA256,
                    blobID: file.blobID, modelID: ModelIdentifier.huggingFace(org: org, repo: name, path: file.path))
            })
    }

    func file(atPath path: String) -> HubUpstreamClient.File? {
        files.first { $0.path == path }
    }

    var walk: Walk { walked.withLock { $0 } }

    func setWalk(_ walk: Walk) { walked.withLock { $0 = walk } }
}
