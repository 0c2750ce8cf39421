import AtmoProtocol
import Foundation

/// The install lock of a model id, `.atmo-partial/{model_id}.install.lock`: installs,
/// removals under it (eviction), rollbacks to a kept previous version and the finishing of an
/// interrupted install of one id run one at a time. No file stays once they end, on success
/// and on failure (`FileIO.withLockRemovingFile`), unless a process died holding it (the next
/// holder of that id removes it).
extension LocalModelStore {
    /// Runs `body` holding the install lock of `modelID` (waiting for another holder), then
    /// removes the lock file. Blocking.
    func withInstallLock<T>(modelID: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try FileIO.makeDirectory(partialDirectory)
        return try FileIO.withLockRemovingFile(installLockPath(modelID: modelID), body)
    }

    /// Removes a model and its sidecar (`remove`) under the model's install lock, so it is
    /// never half-way through beside an install, rollback or eviction of the same id (which
    /// could leave a new version's file without its sidecar). What `atmo rm` calls. Blocking.
    public func removeUnderInstallLock(modelID: String) throws(StoreError) {
        guard Validation.isValidModelID(modelID), installed(modelID: modelID) != nil else {
            throw StoreError(.notFound, "\(modelID) is not installed in \(directory) (see `atmo ls`)")
        }
        try withInstallLock(modelID: modelID) { () throws(StoreError) in try remove(modelID: modelID) }
    }

    /// Removes the install lock file of `modelID` (`.atmo-partial/{model_id}.install.lock`)
    /// when no install, removal or eviction of that id holds or waits on it; one that does
    /// keeps it (`FileIO.removeLockFile`). Returns whether it is gone. Blocking.
    @discardableResult
    package func removeInstallLock(modelID: String) -> Bool {
        guard Validation.isValidModelID(modelID) else { return false }
        return FileIO.removeLockFile(installLockPath(modelID: modelID))
    }
}
