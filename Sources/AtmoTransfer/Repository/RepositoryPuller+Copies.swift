import AtmoProtocol
import AtmoStore
import Foundation

/// The copies a repository pull makes in the store on the way to another destination, and
/// how it gets rid of them: only its own, on success and on every error path alike.
extension RepositoryPuller {
    /// The folder a file fetched for another destination goes through when the store holds
    /// another model under the file's id: beside the store's models, never scanned as one
    /// (`.atmo-repository/`, same file system, so the install still links).
    static func scratch(of store: LocalModelStore) -> LocalModelStore {
        LocalModelStore(directory: store.directory + "/.atmo-repository")
    }

    /// Installs the file (a verified file of `source`'s store) at the layout's destination.
    /// Bytes that are not the file (a git blob id the bytes do not hash to) are the source's
    /// lie, a verification failure (`hash_mismatch`), not a storage problem. Blocking.
    static func install(_ file: RepositoryFile, of entry: RepositoryEntry, from source: String, layout: RepositoryLayout)
        throws(TransferError) -> String
    {
        let failure: StoreError
        do {
            return try layout.install(file, from: source, sha256Verified: true)
        } catch {
            failure = error
        }
        guard failure.code == .corrupt else { throw TransferError.from(failure) }
        throw TransferError(.hashMismatch, "\(entry.repoID) \(file.path): \(failure.message)", underlying: failure)
    }

    /// Removes the copy of `file` this pull left in `store`, when the model of that id there
    /// is the file's bytes (a model of other bytes is never this pull's).
    func dropCopy(of file: RepositoryFile, from store: LocalModelStore, engine: PullEngine) async {
        do {
            try await engine.blocking {
                guard let model = store.installed(modelID: file.modelID), model.sha256 == file.sha256 else { return }
                try store.remove(modelID: file.modelID)
            }
        } catch {
            logger.warning("could not drop the store's copy", metadata: ["model": "\(file.modelID)", "error": "\(error)"])
        }
    }
}
