import AtmoProtocol
import AtmoStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a repository pull leaves behind once it ends, on success and on failure alike: the
/// install lock files of its files' ids (in the store and in its scratch store), and the
/// scratch folder `.atmo-repository/` when nothing is left in it (a partial kept for the next
/// run's resume keeps it). A lock another install holds, or a scratch folder another pull
/// uses, stays; the Hugging Face cache's `.locks/` stay too, as `huggingface_hub` leaves them
/// (see `FileIO+LockFiles`).
extension RepositoryPuller {
    /// `{store}/.atmo-repository.lock`: pulls going through the scratch store hold it shared,
    /// so the folder is only removed (under the exclusive lock) when none does.
    static func scratchLockPath(of store: LocalModelStore) -> String {
        store.directory + "/.atmo-repository.lock"
    }

    /// Runs `body` with the scratch store, holding its lock shared.
    func withScratch<T>(of store: LocalModelStore, engine: PullEngine, _ body: (LocalModelStore) async throws(TransferError) -> T)
        async throws(TransferError) -> T
    {
        let path = Self.scratchLockPath(of: store)
        let fd = try await engine.blocking { () throws(StoreError) -> Int32 in
            guard let fd = try FileIO.lockFile(path, shared: true) else { throw StoreError(.io, "\(path) could not be locked") }
            return fd
        }
        defer { FileIO.close(fd) }
        return try await body(Self.scratch(of: store))
    }

    /// Removes what the pull of `files` left behind (see the type's notes). Never fails.
    func tidy(after files: [RepositoryFile], engine: PullEngine) async {
        let store = self.store
        do {
            try await engine.blocking { Self.tidy(store, files: files) }
        } catch {
            logger.debug("could not tidy after the repository pull", metadata: ["error": "\(error)"])
        }
    }

    /// Blocking.
    static func tidy(_ store: LocalModelStore, files: [RepositoryFile]) {
        let scratch = scratch(of: store)
        let scratchThere = (try? FileIO.stat(scratch.directory)) != nil
        for file in files {
            store.removeInstallLock(modelID: file.modelID)
            if scratchThere { scratch.removeInstallLock(modelID: file.modelID) }
        }
        let path = scratchLockPath(of: store)
        guard scratchThere || (try? FileIO.stat(path)) != nil else { return }
        // Another pull going through the scratch store holds the lock: it is still in use.
        guard let fd = try? FileIO.lockFile(path, wait: false) else { return }
        defer { FileIO.close(fd) }
        // Only empty folders go: a partial kept for a resume (or anything else) keeps them.
        if scratchThere, rmdir(scratch.partialDirectory) == 0 || errno == ENOENT { rmdir(scratch.directory) }
        unlink(path)
    }
}
