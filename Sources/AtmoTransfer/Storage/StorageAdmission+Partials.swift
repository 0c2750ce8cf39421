import AtmoProtocol
import AtmoStore
import Foundation

/// Stale partials: partial files (`{sha256}.part`) of downloads no pull uses any more, which
/// the admission may evict (file and resume record) before any model, oldest first
/// (`StoragePlanner.evictions`). A partial is in use, so never stale, when:
/// - a pull of it is admitted here, or it is the file the pull being admitted continues;
/// - a download of the node's queue (waiting, queued, running or paused: every row of
///   `queued_download`) names its SHA-256 (a repository download: among its files'), or, not pinned to a version yet, its model id is
///   the one of the partial's resume record (a paused, preempted download resumes from its
///   verified pieces);
/// - its pull's lock is held (a pull under way, in this process or another one);
/// - an install of it is under way (its staged sidecar exists).
/// A stale partial's lock is held from when it is found until the admission is done with it,
/// so no pull can start on it in between. The status (`GET /v1/storage`) takes no locks: it
/// only reads, and must not make a pull starting at that moment fail as `already_running`.
final class StalePartialLocks {
    /// SHA-256 to the descriptor of its pull's lock.
    var held: [String: Int32] = [:]

    init() {}

    deinit {
        for fd in held.values { FileIO.close(fd) }
    }
}

extension StorageAdmission {
    /// The partials of `store` among `partials` (SHA-256 to size) that are stale, with
    /// their locks taken into `locks` (nil: the locks are not looked at). `inUse` are the
    /// SHA-256s of admitted pulls.
    func stalePartials(
        of store: LocalModelStore, among partials: [String: Int64], inUse: Set<String>, locks: StalePartialLocks?
    ) -> [StalePartial] {
        guard configuration.limitBytes != nil, !partials.isEmpty else { return [] }
        // Without the queue, every partial may be wanted: none is stale.
        guard let queued = try? database.queuedDownloads() else { return [] }
        let queuedSHAs = Set(queued.flatMap(\.partialSHA256s))
        let unpinnedModels = Set(queued.filter { $0.sha256 == nil }.map(\.modelID))
        var stale: [StalePartial] = []
        for (sha, size) in partials where !inUse.contains(sha) && !queuedSHAs.contains(sha) {
            // A partial of unknown model may be the one a download not pinned yet is for.
            if !unpinnedModels.isEmpty {
                guard let record = try? database.download(sha256: sha), !unpinnedModels.contains(record.entry.modelID) else { continue }
            }
            guard (try? FileIO.stat(store.stagedSidecarPath(sha256: sha))) == nil,
                let stat = try? FileIO.stat(store.partialPath(sha256: sha))
            else { continue }
            if let locks, locks.held[sha] == nil {
                guard let fd = try? FileIO.tryLock(store.lockPath(sha256: sha)) else { continue }
                locks.held[sha] = fd
            }
            stale.append(StalePartial(sha256: sha, sizeBytes: size, lastWrittenAt: Double(stat.modificationTimeNanos) / 1e9))
        }
        return stale
    }

    /// Deletes the stale partial `partial` of `store`: its resume record, then its file and
    /// lock file (the lock is held in `locks`).
    func evict(_ partial: StalePartial, of store: LocalModelStore, locks: StalePartialLocks) throws(StoreError) {
        guard locks.held[partial.sha256] != nil else { return }
        try database.deleteDownload(sha256: partial.sha256)
        let file = store.partialPath(sha256: partial.sha256)
        if unlink(file) != 0 && errno != ENOENT { throw StoreError.posix(errno, "remove", path: file) }
        // Unlinked while held: a pull that opened it before sees the inode change and retries.
        unlink(store.lockPath(sha256: partial.sha256))
        try FileIO.fsyncDirectory(store.partialDirectory)
    }
}
