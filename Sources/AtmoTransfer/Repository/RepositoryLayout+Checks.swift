import AtmoProtocol
import AtmoStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a repository pull checks at its destination before any byte moves: no file of the
/// commit the cache holds already is offered as other bytes, and the cache's folder can be
/// written and has room. Blocking (the puller runs them on the engine's pool).
extension RepositoryLayout {
    /// The first of `files` whose place in the snapshot holds another file of the commit
    /// (`HubCache.heldFileConflict`): the file and why. Nil when none does, or the
    /// destination is no Hugging Face cache.
    func heldConflict(_ files: [RepositoryFile]) -> (file: RepositoryFile, reason: String)? {
        guard case .huggingFace(let cache) = destination else { return nil }
        for file in files {
            if let reason = cache.heldFileConflict(Self.cacheFile(file), repositoryID: entry.repoID, revision: entry.revision) {
                return (file, reason)
            }
        }
        return nil
    }

    /// Creates the repository's `blobs/` in a Hugging Face cache, checks it can be written,
    /// and, when the store is on another file system (the blobs are copied, not linked),
    /// that it has room for the bytes of `files` whose blobs are not there yet.
    func prepareDestination(_ files: [RepositoryFile]) throws(StoreError) {
        guard case .huggingFace(let cache) = destination, let folder = cache.repositoryFolder(entry.repoID) else { return }
        try FileIO.makeDirectory(folder)
        let blobs = folder + "/blobs"
        try HubCache.ensureRealDirectory(blobs)
        guard access(blobs, W_OK) == 0 else { throw StoreError.posix(errno, "write to", path: blobs) }
        guard let cacheDevice = try? FileIO.stat(blobs).device, (try? FileIO.stat(store.directory).device) != cacheDevice else { return }
        let needed = files.reduce(Int64(0)) { total, file in
            let cached = Self.cacheFile(file)
            let observed = cache.observe(cached, repositoryID: entry.repoID, revision: entry.revision)
            return HubCache.step(for: cached, observed: observed) == .needsBlob ? total + file.sizeBytes : total
        }
        var info = statvfs()
        guard needed > 0, statvfs(blobs, &info) == 0 else { return }
        let free = Int64(clamping: UInt64(info.f_bavail) &* UInt64(info.f_frsize))
        guard free >= needed else {
            throw StoreError(
                .storageFull, "\(blobs) has \(free) bytes free; the files of \(entry.repoID) need \(needed) (nothing was fetched)")
        }
    }
}
