import AtmoProtocol
import AtmoStore
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Mirrors a repository revision the mesh does not have from the upstream endpoint into
/// this node's Hugging Face cache, once: each file is downloaded to a scratch file, checked
/// against the upstream's hash (the LFS SHA-256, or the git blob id of a file kept in git:
/// `HubCache.installBlob` computes both and refuses a mismatch), installed as a blob by its
/// etag, linked into `snapshots/{commit}/`, and the ref written. The inventory's next scan
/// offers it to the mesh like any cached repository.
///
/// Requests for the same repository and revision while a mirror runs wait for that one
/// (no second download); a blob already in the cache is not downloaded again.
final class HubUpstream: Sendable {
    let client: HubUpstreamClient
    let cache: HubCache
    /// Where downloads are written before they are checked (the node's state folder).
    let scratchDirectory: String
    let io: BlockingIO
    let logger: Logger
    private let running = Mutex<[String: Task<HubUpstreamClient.Lookup, any Error>]>([:])

    init(client: HubUpstreamClient, cache: HubCache, scratchDirectory: String, io: BlockingIO, logger: Logger) {
        self.client = client
        self.cache = cache
        self.scratchDirectory = scratchDirectory
        self.io = io
        self.logger = logger
    }

    /// Mirrors `repoID` at `revision` (nil: `main`): `.found(commit)` once the snapshot is in
    /// the cache, `.miss` when the upstream has no such repository or revision.
    func mirror(repoID: String, revision: String?) async throws -> HubUpstreamClient.Lookup {
        let revision = revision ?? "main"
        let key = repoID + "@" + revision
        let task = running.withLock { running in
            if let task = running[key] { return task }
            let task = Task {
                // Forgotten when done, so a later miss asks the upstream again (a new commit).
                defer { self.running.withLock { _ = $0.removeValue(forKey: key) } }
                return try await self.run(repoID: repoID, revision: revision)
            }
            running[key] = task
            return task
        }
        return try await task.value
    }

    /// Cancels every mirror still running and waits for them (the node is stopping).
    func cancelAll() async {
        let tasks = running.withLock { Array($0.values) }
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
    }

    private func run(repoID: String, revision: String) async throws -> HubUpstreamClient.Lookup {
        let lookup = try await client.lookup(repoID: repoID, revision: revision)
        guard case .found(let commit) = lookup else { return lookup }
        let files = try await client.files(repoID: repoID, commit: commit)
        logger.info("mirroring from upstream", metadata: ["repo": "\(repoID)", "commit": "\(commit)", "files": "\(files.count)"])
        for file in files {
            try await mirror(file, repoID: repoID, commit: commit)
        }
        if !Validation.isValidRevision(revision) {
            let (cache, ref) = (self.cache, revision)
            try await io.run { try cache.writeRef(ref, revision: commit, repositoryID: repoID) }
        }
        logger.info("mirrored from upstream", metadata: ["repo": "\(repoID)", "commit": "\(commit)"])
        return lookup
    }

    private func mirror(_ file: HubUpstreamClient.File, repoID: String, commit: String) async throws {
        let cache = self.cache
        // The blob may be there already (another revision, an earlier mirror): link it.
        let probe = HubCacheFile(
            path: file.path, sizeBytes: file.sizeBytes, sha256: file.isLFS ? file.blobID : String(repeating: "0", count: 64),
            blobID: file.blobID)
        if case .file(let size) = cache.observe(probe, repositoryID: repoID, revision: commit).blob, size == file.sizeBytes {
            try await io.run { try cache.linkSnapshotFile(probe, repositoryID: repoID, revision: commit) }
            return
        }
        try await io.run { [scratchDirectory] in try FileIO.makeDirectory(scratchDirectory) }
        let scratch = scratchDirectory + "/" + file.blobID + "." + UUID().uuidString.prefix(8) + ".part"
        let fd = try FileIO.open(scratch, flags: O_RDWR | O_CREAT | O_TRUNC, mode: 0o644)
        defer {
            FileIO.close(fd)
            unlink(scratch)
        }
        try await client.download(repoID: repoID, commit: commit, file: file, into: fd, scratchPath: scratch, io: io)
        try await io.run {
            try FileIO.fsync(fd, path: scratch)
            // The SHA-256 of a file kept in git is not in the listing: it is computed here,
            // and installBlob checks the git blob id the upstream named.
            let sha256 = file.isLFS ? file.blobID : try HubFileDigests.compute(path: scratch).sha256
            let checked = HubCacheFile(path: file.path, sizeBytes: file.sizeBytes, sha256: sha256, blobID: file.blobID)
            try cache.installBlob(checked, repositoryID: repoID, from: scratch, sha256Verified: false)
            try cache.linkSnapshotFile(checked, repositoryID: repoID, revision: commit)
        }
    }
}
