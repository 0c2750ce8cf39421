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
/// this node's Hugging Face cache, once, file by file:
/// - `open` asks the upstream for the revision's commit and file listing (two small
///   requests): enough to answer info, tree and `HEAD` at once;
/// - a walk then fetches every file in listing order, while a client asking for a file gets
///   it fetched at once (`attempt(for:of:)`), so it waits for that file only;
/// - each download goes to a scratch file, is hashed as it arrives and checked against the
///   upstream's hash (the LFS SHA-256, or the git blob id of a file kept in git), then
///   installed as a blob by its etag and linked into `snapshots/{commit}/`; once every file
///   is there, the ref is written and the inventory's next scan offers the revision.
///
/// One download per blob however many clients ask; a blob already in the cache is linked,
/// not fetched again.
final class HubUpstream: Sendable {
    let client: HubUpstreamClient
    let cache: HubCache
    /// Where downloads are written before they are checked (the node's state folder).
    let scratchDirectory: String
    let io: BlockingIO
    let logger: Logger
    let taint: HubUpstreamTaint
    /// Asks the inventory for a rescan (a revision is complete).
    let rescan: @Sendable () -> Void
    private let lookups = Mutex<[String: Task<Opened, any Error>]>([:])
    /// Revisions mirrored or being mirrored, by `repo@name` and `repo@commit`.
    private let revisions = Mutex<[String: HubUpstreamRevision]>([:])
    private let walks = Mutex<[String: Task<Void, Never>]>([:])
    private let attempts = Mutex<[String: (attempt: HubUpstreamAttempt, task: Task<Void, Never>)]>([:])
    /// Blobs whose download failed lately, by `repo/blob id` (not fetched again at once).
    private let backoff: Mutex<HubUpstreamBackoff>

    /// What the upstream has for a revision.
    enum Opened: Sendable {
        case revision(HubUpstreamRevision)
        case miss(HubCatalog.Miss)
    }

    init(
        client: HubUpstreamClient, cache: HubCache, scratchDirectory: String, io: BlockingIO, logger: Logger,
        retryAfter: Duration = .seconds(30), rescan: @escaping @Sendable () -> Void = {}
    ) {
        backoff = Mutex(HubUpstreamBackoff(base: retryAfter))
        self.client = client
        self.cache = cache
        self.scratchDirectory = scratchDirectory
        self.io = io
        self.logger = logger
        self.rescan = rescan
        taint = HubUpstreamTaint(folder: scratchDirectory + "/unverified")
    }

    /// The revision `revision` (nil: `main`) of `repoID` as the upstream lists it, its
    /// mirror started; `.miss` when the upstream has no such repository or revision.
    /// Concurrent calls share one lookup.
    func open(repoID: String, revision: String?) async throws -> Opened {
        let revision = revision ?? "main"
        if let known = active(repoID: repoID, revision: revision) { return .revision(known) }
        let key = repoID + "@" + revision
        let task = lookups.withLock { lookups in
            if let task = lookups[key] { return task }
            let task = Task {
                defer { self.lookups.withLock { _ = $0.removeValue(forKey: key) } }
                return try await self.lookUp(repoID: repoID, revision: revision)
            }
            lookups[key] = task
            return task
        }
        return try await task.value
    }

    /// The revision being (or just) mirrored that `revision` names (a ref or its commit).
    func active(repoID: String, revision: String?) -> HubUpstreamRevision? {
        revisions.withLock { $0[repoID + "@" + (revision ?? "main")] }
    }

    /// Forgets a revision (the inventory offers it now, or its walk failed): the next request
    /// for its name asks the upstream again.
    func retire(_ revision: HubUpstreamRevision) {
        revisions.withLock { revisions in
            for (key, value) in revisions where value === revision { revisions[key] = nil }
        }
    }

    private func lookUp(repoID: String, revision: String) async throws -> Opened {
        let lookup = try await client.lookup(repoID: repoID, revision: revision)
        guard case .found(let commit) = lookup else {
            if case .miss(let miss) = lookup { return .miss(miss) }
            throw HubUpstreamError("unreachable")
        }
        if let known = active(repoID: repoID, revision: commit) {
            revisions.withLock { $0[repoID + "@" + revision] = known }
            return .revision(known)
        }
        let files = try await client.files(repoID: repoID, commit: commit)
        let mirrored = HubUpstreamRevision(repoID: repoID, commit: commit, files: files)
        revisions.withLock { revisions in
            // Bounded: past 128 names, the revisions mirrored whole are forgotten (the cache
            // and the inventory have them; a later request asks the upstream again).
            if revisions.count >= 128 { revisions = revisions.filter { $0.value.walk == .running } }
            revisions[repoID + "@" + revision] = mirrored
            revisions[repoID + "@" + commit] = mirrored
        }
        logger.info("mirroring from upstream", metadata: ["repo": "\(repoID)", "commit": "\(commit)", "files": "\(files.count)"])
        let key = repoID + "@" + commit
        walks.withLock { walks in
            walks[key] = Task {
                await self.walk(mirrored, ref: Validation.isValidRevision(revision) ? nil : revision)
                _ = self.walks.withLock { $0.removeValue(forKey: key) }
            }
        }
        return .revision(mirrored)
    }

    /// Fetches every file of `revision` in order (each joins a client's download of the same
    /// blob), then writes `ref`.
    private func walk(_ revision: HubUpstreamRevision, ref: String?) async {
        do {
            for file in revision.files {
                try Task.checkCancellation()
                try await fetch(file, of: revision)
            }
            if let ref {
                let cache = self.cache
                try await io.run { try cache.writeRef(ref, revision: revision.commit, repositoryID: revision.repoID) }
            }
            revision.setWalk(.complete)
            logger.info("mirrored from upstream", metadata: ["repo": "\(revision.repoID)", "commit": "\(revision.commit)"])
            rescan()
        } catch {
            revision.setWalk(.failed)
            retire(revision)
            logger.warning(
                "mirror from upstream failed",
                metadata: ["repo": "\(revision.repoID)", "commit": "\(revision.commit)", "error": "\(error)"])
        }
    }

    /// Makes `file` of `revision` present in the cache (linked from a blob already there, or
    /// downloaded), throwing when its download fails. The upstream's rate limit is waited
    /// out (what it asks, at most 5 minutes a time, 8 times), not a failure of the mirror.
    func fetch(_ file: HubUpstreamClient.File, of revision: HubUpstreamRevision) async throws {
        var waits = 0
        while true {
            do {
                return try await fetchOnce(file, of: revision)
            } catch let refusal as HubUpstreamRefusal where refusal.kind == .rateLimited && waits < 8 {
                waits += 1
                logger.info(
                    "upstream rate limit: waiting", metadata: ["path": "\(file.path)", "seconds": "\(refusal.retryAfter ?? .seconds(1))"])
                try await Task.sleep(for: min(refusal.retryAfter ?? .seconds(1), .seconds(300)))
            }
        }
    }

    private func fetchOnce(_ file: HubUpstreamClient.File, of revision: HubUpstreamRevision) async throws {
        if try await linkCachedBlob(file, of: revision) != nil { return }
        let running: (attempt: HubUpstreamAttempt, task: Task<Void, Never>)
        switch attempt(for: file, of: revision) {
        case .running(let attempt, let task): running = (attempt, task)
        case .backingOff(let wait):
            if var refusal = lastRefusal(for: file, of: revision) {
                if refusal.kind == .rateLimited { refusal.retryAfter = wait }
                throw refusal
            }
            throw HubUpstreamError("\(file.path) failed lately; not fetched again for \(wait)")
        }
        await running.task.value
        let progress = running.attempt.progress
        if let refusal = progress.refusal { throw refusal }
        if case .failed(let message) = progress.outcome { throw HubUpstreamError(message) }
    }

    /// What the upstream refused for `file`'s blob last (gated, rate limit), while the blob
    /// waits before it is fetched again.
    func lastRefusal(for file: HubUpstreamClient.File, of revision: HubUpstreamRevision) -> HubUpstreamRefusal? {
        backoff.withLock { $0.refusal(revision.repoID + "/" + file.blobID, now: .now) }
    }

    /// The blob of `file` in the cache with its SHA-256, linked into the revision's snapshot,
    /// or nil when it is not there: an LFS blob of the right size is trusted by its name (as
    /// `huggingface_hub` does), a git blob is hashed.
    func linkCachedBlob(_ file: HubUpstreamClient.File, of revision: HubUpstreamRevision) async throws -> (path: String, sha256: String)? {
        let (cache, repoID, commit) = (self.cache, revision.repoID, revision.commit)
        return try await io.run { () throws -> (path: String, sha256: String)? in
            guard let folder = cache.repositoryFolder(repoID) else { return nil }
            let blob = folder + "/blobs/" + file.blobID
            var info = stat()
            guard lstat(blob, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int64(info.st_size) == file.sizeBytes else { return nil }
            let sha256: String
            if file.isLFS {
                sha256 = file.blobID
            } else {
                guard let digests = try? HubFileDigests.compute(path: blob), digests.gitBlobID == file.blobID else { return nil }
                sha256 = digests.sha256
            }
            let checked = HubCacheFile(path: file.path, sizeBytes: file.sizeBytes, sha256: sha256, blobID: file.blobID)
            try cache.linkSnapshotFile(checked, repositoryID: repoID, revision: commit)
            return (blob, sha256)
        }
    }

    /// A blob's download: running, or not started because its last one failed lately.
    enum Started: Sendable {
        case running(HubUpstreamAttempt, Task<Void, Never>)
        /// How long until the blob is fetched again (`HubUpstreamBackoff`).
        case backingOff(Duration)
    }

    /// The running download of `file`'s blob, started unless one runs or the blob's last
    /// download failed less than its backoff ago.
    func attempt(for file: HubUpstreamClient.File, of revision: HubUpstreamRevision) -> Started {
        let key = revision.repoID + "/" + file.blobID
        return attempts.withLock { attempts -> Started in
            if let running = attempts[key] { return .running(running.attempt, running.task) }
            if let wait = backoff.withLock({ $0.wait(key, now: .now) }) { return .backingOff(wait) }
            let attempt = HubUpstreamAttempt(file: file)
            let task = Task {
                await self.download(attempt, of: revision)
                let progress = attempt.progress
                let failed: Bool
                if case .failed = progress.outcome { failed = true } else { failed = false }
                self.backoff.withLock { failed ? $0.failed(key, now: .now, refusal: progress.refusal) : $0.succeeded(key) }
                _ = self.attempts.withLock { $0.removeValue(forKey: key) }
            }
            attempts[key] = (attempt, task)
            return .running(attempt, task)
        }
    }

    /// Cancels the walks and downloads still running and waits for them (the node is stopping).
    func cancelAll() async {
        let tasks = walks.withLock { Array($0.values) } + attempts.withLock { $0.values.map(\.task) }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
